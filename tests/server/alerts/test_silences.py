"""Silences (matchers, time range, recurring windows) and inhibition rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsplane.server.alerts.inhibition import InhibitSpec
from opsplane.server.alerts.labels import parse_matcher
from opsplane.server.alerts.silences import Recurrence, SilenceSpec
from opsplane.server.errors import Invalid

MON = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday


def silence(
    *matchers: str,
    starts: datetime = MON,
    ends: datetime | None = None,
    recurrence: dict[str, object] | None = None,
) -> SilenceSpec:
    return SilenceSpec(
        1,
        tuple(parse_matcher(m) for m in matchers),
        starts,
        ends or MON + timedelta(days=30),
        Recurrence.from_dict(recurrence) if recurrence else None,
    )


def test_matchers_and_time_range() -> None:
    s = silence('env=~"prod|stage"', 'alertname!="Watchdog"', ends=MON + timedelta(hours=2))
    assert s.mutes({"env": "prod", "alertname": "HighCPU"}, MON + timedelta(hours=1))
    assert not s.mutes({"env": "production", "alertname": "HighCPU"}, MON + timedelta(hours=1))
    assert not s.mutes({"env": "prod", "alertname": "Watchdog"}, MON + timedelta(hours=1))
    assert not s.mutes({"env": "prod"}, MON - timedelta(seconds=1))
    assert not s.mutes({"env": "prod"}, MON + timedelta(hours=2))


def test_weekly_window_crossing_midnight() -> None:
    s = silence(
        'node="db-1"',
        recurrence={"weekdays": [5], "start": "22:00", "duration_minutes": 240, "timezone": "UTC"},
    )
    saturday = MON + timedelta(days=5)
    assert not s.mutes({"node": "db-1"}, saturday + timedelta(hours=21, minutes=59))
    assert s.mutes({"node": "db-1"}, saturday + timedelta(hours=22))
    assert s.mutes({"node": "db-1"}, saturday + timedelta(hours=25, minutes=59))  # Sunday 01:59
    assert not s.mutes({"node": "db-1"}, saturday + timedelta(hours=26))
    assert not s.mutes(
        {"node": "db-1"}, saturday + timedelta(days=7, hours=22) + timedelta(days=30)
    )  # past the silence's end


def test_window_in_a_timezone() -> None:
    s = silence(
        'a="b"',
        recurrence={
            "weekdays": [0, 1, 2, 3, 4],
            "start": "02:00",
            "duration_minutes": 60,
            "timezone": "Asia/Shanghai",
        },
    )
    # 02:30 in Shanghai on Tuesday is 18:30 UTC on Monday.
    assert s.mutes({"a": "b"}, MON + timedelta(hours=18, minutes=30))
    assert not s.mutes({"a": "b"}, MON + timedelta(hours=2, minutes=30))


@pytest.mark.parametrize(
    "bad",
    [
        {"weekdays": [7], "start": "01:00", "duration_minutes": 10},
        {"weekdays": [1], "start": "25:00", "duration_minutes": 10},
        {"weekdays": [1], "start": "01:00", "duration_minutes": 0},
        {"weekdays": [1], "start": "01:00", "duration_minutes": 10, "timezone": "Mars/Base"},
    ],
)
def test_bad_recurrence(bad: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        Recurrence.from_dict(bad)


def spec(source: str, target: str, *equal: str) -> InhibitSpec:
    return InhibitSpec(1, (parse_matcher(source),), (parse_matcher(target),), equal)


def test_inhibition_needs_a_firing_source_with_equal_labels() -> None:
    rule = spec('severity="critical"', 'severity="warning"', "node")
    critical = {"alertname": "NodeDown", "severity": "critical", "node": "a"}
    warning = {"alertname": "HighCPU", "severity": "warning", "node": "a"}
    assert rule.inhibits(warning, [critical])
    assert not rule.inhibits(warning | {"node": "b"}, [critical])
    assert not rule.inhibits(warning, [])
    assert not rule.inhibits(critical, [critical])


def test_an_alert_matching_both_sides_does_not_inhibit_itself() -> None:
    rule = spec('alertname="X"', 'alertname="X"')
    a = {"alertname": "X", "node": "a"}
    b = {"alertname": "X", "node": "b"}
    assert not rule.inhibits(a, [a, b])
