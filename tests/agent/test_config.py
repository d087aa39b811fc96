"""Validation of pushed configs: the parts the heap-dump pipeline adds."""

from __future__ import annotations

import pytest

from opsplane.agent.config import ConfigError, validate
from opsplane.protocol.files import WatchRule
from opsplane.protocol.session import AgentConfig


def test_upload_limits_are_checked() -> None:
    assert validate(AgentConfig(upload_bytes_per_second=1_000_000, upload_concurrency=3))
    with pytest.raises(ConfigError, match="upload_concurrency must be at least 1, got 0"):
        validate(AgentConfig(upload_concurrency=0))
    with pytest.raises(ConfigError, match="upload_bytes_per_second must be positive or null"):
        validate(AgentConfig(upload_bytes_per_second=0))


def test_a_bad_watch_rule_does_not_refuse_the_config() -> None:
    # The watcher skips it and reports it; the rest of the config still applies.
    broken = WatchRule(id="r", name="broken", paths=("relative",), path_template="/d/{app")
    config = AgentConfig(heartbeat_interval=2.0, watch_rules=(broken,))
    assert validate(config) is config
