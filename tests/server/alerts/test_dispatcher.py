"""Routing tree and aggregation timing: group_wait, group_interval, repeat_interval, muting."""

from __future__ import annotations

from datetime import UTC, datetime

from opsplane.server.alerts.channels.base import ChannelConfig, Notification, NotifyAlert
from opsplane.server.alerts.dispatcher import Dispatcher, LogEntry
from opsplane.server.alerts.routing import RouteNode, Router, Timing

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULTS = Timing(("alertname",), 0.0, 60.0, 3600.0)


def alert(
    name: str = "HighCPU", node: str = "a", status: str = "firing", **labels: str
) -> NotifyAlert:
    all_labels = {"alertname": name, "node": node, **labels}
    return NotifyAlert(
        fingerprint=f"{name}-{node}", labels=all_labels, annotations={}, status=status, starts_at=T0
    )


class Harness:
    def __init__(
        self,
        tree: dict[str, object] | None = None,
        *,
        channels: int = 1,
        muted: set[str] | None = None,
    ) -> None:
        self.now = 1000.0
        self.sent: list[tuple[str, Notification]] = []
        self.channels = {
            i: ChannelConfig(i, f"ch{i}", "webhook", {"url": "http://x"})
            for i in range(1, channels + 1)
        }
        self.muted = muted or set()
        router = Router(RouteNode.model_validate(tree or {}), DEFAULTS)
        self.d = Dispatcher(
            router=lambda: router,
            channels=lambda: self.channels,
            muted=lambda a, _f: a.fingerprint in self.muted,
            send=lambda c, n, _entry: self.sent.append((c.name, n)),
            clock=lambda: self.now,
        )

    def at(self, t: float) -> list[tuple[str, Notification]]:
        self.now = 1000.0 + t
        before = len(self.sent)
        self.d.flush_due()
        return self.sent[before:]


def fps(n: Notification) -> list[tuple[str, str]]:
    return sorted((a.fingerprint, a.status) for a in n.alerts)


def test_group_wait_zero_sends_at_once_and_group_interval_batches_later_changes() -> None:
    h = Harness()
    h.d.submit([alert(node="a")])
    [(_, first)] = h.at(0)
    assert fps(first) == [("HighCPU-a", "firing")]
    h.d.submit([alert(node="b")])
    assert h.at(30) == []  # a change inside the group interval waits
    [(_, second)] = h.at(60)
    assert fps(second) == [("HighCPU-a", "firing"), ("HighCPU-b", "firing")]
    assert h.at(120) == []  # nothing new: deduplicated


def test_group_wait_delays_the_first_notification() -> None:
    h = Harness({"group_wait": "10s"})
    h.d.submit([alert(node="a")])
    assert h.at(5) == []
    h.d.submit([alert(node="b")])
    [(_, n)] = h.at(10)
    assert len(n.alerts) == 2


def test_repeat_interval_resends_unchanged_firing_alerts() -> None:
    h = Harness({"repeat_interval": "5m"})
    h.d.submit([alert()])
    assert len(h.at(0)) == 1
    assert h.at(60) == []
    assert h.at(240) == []
    assert len(h.at(300)) == 1


def test_resolved_is_sent_then_the_group_is_gone() -> None:
    h = Harness()
    h.d.submit([alert()])
    h.at(0)
    h.d.submit([alert(status="resolved")])
    [(_, n)] = h.at(60)
    assert n.status == "resolved"
    assert fps(n) == [("HighCPU-a", "resolved")]
    assert h.d.groups == {}


def test_group_by_splits_groups() -> None:
    h = Harness({"group_by": ["alertname", "node"]})
    h.d.submit([alert(node="a"), alert(node="b")])
    assert len(h.at(0)) == 2


def test_routes_match_deepest_first_and_continue() -> None:
    tree = {
        "receivers": [1],
        "routes": [
            {
                "matchers": [{"name": "severity", "value": "critical"}],
                "receivers": [2],
                "continue": True,
                "routes": [{"matchers": [{"name": "team", "value": "db"}], "receivers": [3]}],
            },
            {
                "matchers": [{"name": "severity", "op": "=~", "value": "crit.*|warn"}],
                "receivers": [4],
            },
        ],
    }
    router = Router(RouteNode.model_validate(tree), DEFAULTS)
    where = [r.receivers for r in router.routes_for({"severity": "critical", "team": "db"})]
    assert where == [(3,), (4,)]
    assert [r.receivers for r in router.routes_for({"severity": "info"})] == [(1,)]
    assert [r.receivers for r in router.routes_for({"severity": "critical"})] == [(2,), (4,)]


def test_default_root_sends_to_every_default_channel() -> None:
    h = Harness(channels=2)
    h.channels[2] = ChannelConfig(2, "quiet", "webhook", {"url": "http://x"}, is_default=False)
    h.d.submit([alert()])
    assert [name for name, _ in h.at(0)] == ["ch1"]


def test_muted_alerts_are_left_out_until_unmuted() -> None:
    h = Harness(muted={"HighCPU-a"})
    h.d.submit([alert(node="a")])
    assert h.at(0) == []
    h.muted.clear()
    [(_, n)] = h.at(60)
    assert fps(n) == [("HighCPU-a", "firing")]


def test_channel_without_send_resolved_gets_no_resolved_notification() -> None:
    h = Harness()
    h.channels[1] = ChannelConfig(1, "ch1", "webhook", {"url": "x"}, send_resolved=False)
    h.d.submit([alert()])
    h.at(0)
    h.d.submit([alert(status="resolved")])
    assert h.at(60) == []
    assert h.d.groups == {}


def test_restored_alerts_are_not_notified_again() -> None:
    h = Harness()
    h.d.submit([alert()], notified=True)
    assert h.at(0) == []
    assert h.at(60) == []
    h.d.submit([alert(status="resolved")])
    assert [n.status for _, n in h.at(120)] == ["resolved"]


def test_restored_log_prevents_repeats_but_not_missed_notifications() -> None:
    h = Harness()
    key = 'root:{alertname="HighCPU"}'
    h.d.restore_log([(key, 1, LogEntry(frozenset({"HighCPU-a"}), frozenset(), 990.0))])
    h.d.submit([alert(node="a")])
    assert h.at(0) == []  # delivered before the restart
    h.d.submit([alert(node="b")])
    [(_, n)] = h.at(60)  # never delivered: sent now
    assert fps(n) == [("HighCPU-a", "firing"), ("HighCPU-b", "firing")]
