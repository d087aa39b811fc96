"""Aggregation groups and their timers: Alertmanager's dispatch and dedup stages.

Each alert goes to the routes the tree gives it; per route it joins the group of alerts that
share its `group_by` label values. A new group flushes after `group_wait`, then at most every
`group_interval`. A flush notifies each receiver whose last notification (the per-group,
per-channel notification log) is out of date: new firing alerts, newly resolved ones (if the
channel sends resolved), or `repeat_interval` passed. Silenced and inhibited alerts are
left out at flush time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from opsplane.server.alerts.channels.base import ChannelConfig, Notification, NotifyAlert
from opsplane.server.alerts.routing import ResolvedRoute, Router


@dataclass(frozen=True, slots=True)
class LogEntry:
    firing: frozenset[str]
    resolved: frozenset[str]
    at: float


@dataclass
class Group:
    route: ResolvedRoute
    key: str
    labels: dict[str, str]
    next_flush: float
    alerts: dict[str, NotifyAlert] = field(default_factory=dict)
    nflog: dict[int, LogEntry] = field(default_factory=dict)


def needs_update(
    entry: LogEntry | None,
    firing: set[str],
    resolved: set[str],
    *,
    send_resolved: bool,
    repeat: float,
    now: float,
) -> bool:
    """Alertmanager's DedupStage.needsUpdate."""
    if entry is None:
        return bool(firing)
    if not firing <= entry.firing:
        return True
    if not firing:
        return bool(entry.firing)  # everything resolved: tell the receiver once
    if send_resolved and not resolved <= entry.resolved:
        return True
    return entry.at <= now - repeat


def group_labels(route: ResolvedRoute, labels: Mapping[str, str]) -> dict[str, str]:
    if route.timing.group_by is None:
        return dict(labels)
    return {k: labels[k] for k in route.timing.group_by if k in labels}


def group_key(route: ResolvedRoute, labels: Mapping[str, str]) -> str:
    """The aggregation group's key: the route's path and the group's label values."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{route.path}:{{{inner}}}"


def receivers_for(
    route: ResolvedRoute, channels: Mapping[int, ChannelConfig]
) -> list[ChannelConfig]:
    """The enabled channels a route notifies (no receivers of its own: the default ones)."""
    if route.receivers is None:
        return [c for c in channels.values() if c.is_default and c.enabled]
    return [channels[i] for i in route.receivers if i in channels and channels[i].enabled]


class Dispatcher:
    def __init__(
        self,
        *,
        router: Callable[[], Router],
        channels: Callable[[], Mapping[int, ChannelConfig]],
        muted: Callable[[NotifyAlert, list[NotifyAlert]], bool],
        send: Callable[[ChannelConfig, Notification, LogEntry], object],
        notified: Callable[[ResolvedRoute, Notification], None] | None = None,
        closed: Callable[[str], None] | None = None,
        external_url: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._router, self._channels, self._muted = router, channels, muted
        self._send, self._notified, self._closed = send, notified, closed
        self.external_url, self.clock = external_url, clock
        self.groups: dict[str, Group] = {}
        # Notification log entries loaded at start, waiting for their group to come back.
        self._saved: dict[str, dict[int, LogEntry]] = {}
        self._wake = asyncio.Event()

    def submit(self, alerts: Iterable[NotifyAlert], *, notified: bool = False) -> None:
        """Add or update alerts. `notified`: restored after a restart, already sent once."""
        now = self.clock()
        router = self._router()
        for alert in alerts:
            for route in router.routes_for(alert.labels):
                labels = group_labels(route, alert.labels)
                key = group_key(route, labels)
                group = self.groups.get(key)
                if group is None:
                    group = Group(route, key, labels, now + route.timing.group_wait)
                    group.nflog = self._saved.pop(key, {})
                    self.groups[key] = group
                group.alerts[alert.fingerprint] = alert
                if notified:
                    self._mark_sent(group, now)
        self._wake.set()

    def restore_log(self, entries: Iterable[tuple[str, int, LogEntry]]) -> None:
        """Take back the notification log persisted before a restart."""
        for key, channel_id, entry in entries:
            self._saved.setdefault(key, {})[channel_id] = entry

    def _mark_sent(self, group: Group, now: float) -> None:
        firing = frozenset(fp for fp, a in group.alerts.items() if a.status == "firing")
        for channel in self._receivers(group.route):
            group.nflog[channel.id] = LogEntry(firing, frozenset(), now)
        group.next_flush = now + group.route.timing.group_interval

    def firing(self) -> list[NotifyAlert]:
        """Every firing alert (once each), for inhibition."""
        seen: dict[str, NotifyAlert] = {}
        for group in self.groups.values():
            for fp, alert in group.alerts.items():
                if alert.status == "firing":
                    seen[fp] = alert
        return list(seen.values())

    def _receivers(self, route: ResolvedRoute) -> list[ChannelConfig]:
        return receivers_for(route, self._channels())

    def flush_due(self) -> float | None:
        """Flush every group whose time has come; returns when the next one is due."""
        now = self.clock()
        firing = self.firing()
        for group in [g for g in self.groups.values() if g.next_flush <= now]:
            self._flush(group, now, firing)
        return min((g.next_flush for g in self.groups.values()), default=None)

    def _flush(self, group: Group, now: float, all_firing: list[NotifyAlert]) -> None:
        alerts = list(group.alerts.values())
        firing = {
            a.fingerprint for a in alerts if a.status == "firing" and not self._muted(a, all_firing)
        }
        resolved = {a.fingerprint for a in alerts if a.status == "resolved"}
        for channel in self._receivers(group.route):
            entry = group.nflog.get(channel.id)
            if not needs_update(
                entry,
                firing,
                resolved,
                send_resolved=channel.send_resolved,
                repeat=group.route.timing.repeat_interval,
                now=now,
            ):
                continue
            chosen = tuple(
                a
                for a in alerts
                if a.fingerprint in firing or (channel.send_resolved and a.fingerprint in resolved)
            )
            entry = LogEntry(frozenset(firing), frozenset(resolved), now)
            group.nflog[channel.id] = entry
            if not chosen:
                continue
            n = Notification(
                id=uuid.uuid4().hex[:16],
                kind="alert",
                receiver=channel.name,
                group_key=group.key,
                group_labels=group.labels,
                alerts=chosen,
                external_url=self.external_url,
                route=group.route.path,
            )
            self._send(channel, n, entry)
            if self._notified is not None:
                self._notified(group.route, n)
        for fp in resolved:
            del group.alerts[fp]
        group.next_flush = now + group.route.timing.group_interval
        if not group.alerts:
            del self.groups[group.key]
            if self._closed is not None:
                self._closed(group.key)

    async def run(self) -> None:
        while True:
            self._wake.clear()
            next_due = self.flush_due()
            timeout = 60.0 if next_due is None else max(0.0, next_due - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
