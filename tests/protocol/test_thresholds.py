"""Threshold watches as the agent judges them: PromQL matcher semantics, sides of thresholds."""

from __future__ import annotations

import math

import msgspec

from opsplane.protocol.session import AgentConfig
from opsplane.protocol.thresholds import Matcher, ThresholdWatch


def test_matchers_follow_promql() -> None:
    labels = {"job": "node", "mountpoint": "/var/lib"}
    assert Matcher("job", "=", "node").matches(labels)
    assert not Matcher("job", "!=", "node").matches(labels)
    # Regexes are anchored at both ends, as in Prometheus.
    assert Matcher("mountpoint", "=~", "/var.*").matches(labels)
    assert not Matcher("mountpoint", "=~", "/var").matches(labels)
    assert Matcher("mountpoint", "!~", "/boot|/").matches(labels)
    # An absent label is the empty string.
    assert Matcher("env", "=", "").matches(labels)
    assert Matcher("env", "!~", ".+").matches(labels)
    assert not Matcher("env", "=~", ".+").matches(labels)


def test_side_changes_only_at_a_crossing() -> None:
    watch = ThresholdWatch("1", "host_load1", ">", (4.0,))
    assert watch.side(1.0) == watch.side(3.99) == (False,)
    assert watch.side(4.01) == watch.side(100) == (True,)
    assert watch.side(math.nan) == (False,)
    # A hysteresis rule has a fire and a clear threshold: each one is a crossing.
    band = ThresholdWatch("2", "m", ">", (85.0, 90.0))
    assert [band.side(v) for v in (80, 87, 95)] == [(False, False), (True, False), (True, True)]


def test_selects_by_name_and_every_matcher() -> None:
    watch = ThresholdWatch("1", "up", "==", (0.0,), (Matcher("job", "=", "node"),))
    assert watch.selects("up", {"job": "node"})
    assert not watch.selects("up", {"job": "app"})
    assert not watch.selects("down", {"job": "node"})


def test_round_trips_in_the_agent_config_and_old_configs_still_decode() -> None:
    config = AgentConfig(
        threshold_check_interval=0.25,
        threshold_watches=(ThresholdWatch("7", "m", "<", (1.0,), (Matcher("a", "=~", "b.*"),)),),
    )
    wire = msgspec.json.encode(config)
    assert msgspec.json.decode(wire, type=AgentConfig) == config
    # A config from a server that knows nothing of watches: checks stay off.
    old = msgspec.json.decode(b'{"metrics_interval": 5}', type=AgentConfig)
    assert old.threshold_watches == ()
    assert old.threshold_check_interval == 0
