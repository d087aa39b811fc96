"""Who is online: heartbeats kept in memory, status transitions written as they happen.

A node is online while heartbeats arrive; degraded when one is late or the agent reports
problems; offline after `offline_after_missed_heartbeats` intervals without one. Heartbeats
themselves are not written one by one: `last_seen_at` is flushed in bulk every few seconds,
so thousands of agents cost a handful of statements.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import structlog
from sqlalchemy import select, update

from opsplane.server.bus.base import Bus
from opsplane.server.bus.subjects import FLEET_STATUS, NodeRef, StatusChange
from opsplane.server.db import Database, utcnow
from opsplane.server.fleet.events import record_event
from opsplane.server.fleet.models import Node, NodeStatus

log = structlog.get_logger(__name__)

FLUSH_SLICE = 250  # nodes per last-seen write
LATE_FACTOR = 2.0  # one heartbeat missed: degraded


@dataclass
class Beat:
    node: NodeRef
    interval: float
    status: NodeStatus
    last_seen: float  # monotonic
    last_seen_at: datetime
    connected: bool = False
    connected_at: datetime | None = None
    problems: tuple[str, ...] = ()
    acked: dict[str, int] = field(default_factory=dict)
    dirty: bool = True


@dataclass(frozen=True)
class Transition:
    node: NodeRef
    old: NodeStatus
    new: NodeStatus
    reason: str


def next_status(beat: Beat, now: float, missed_for_offline: int) -> tuple[NodeStatus, str]:
    age = now - beat.last_seen
    if age > missed_for_offline * beat.interval:
        return NodeStatus.offline, f"no heartbeat for {age:.0f} s"
    if not beat.connected:
        return beat.status, ""
    if beat.problems:
        return NodeStatus.degraded, "agent reports: " + "; ".join(beat.problems)
    if age > LATE_FACTOR * beat.interval:
        return NodeStatus.degraded, f"heartbeat late by {age - beat.interval:.1f} s"
    return NodeStatus.online, "heartbeats arriving"


class Presence:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        missed_for_offline: int,
        default_interval: float,
        flush_interval: float = 10.0,
        on_change: Callable[[list[Transition]], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.missed_for_offline = missed_for_offline
        self.default_interval = default_interval
        self.flush_interval = flush_interval
        self.on_change = on_change
        self.beats: dict[str, Beat] = {}
        self._last_flush = time.monotonic()

    async def load(self) -> None:
        """At start, give nodes that were up a full grace period to reconnect."""
        async with self.db.session() as session:
            rows = (
                await session.scalars(
                    select(Node).where(
                        Node.status.in_([NodeStatus.online.value, NodeStatus.degraded.value])
                    )
                )
            ).all()
            for node in rows:
                interval = float((node.config or {}).get("heartbeat_interval") or 0) or None
                self.beats[node.id] = Beat(
                    node=NodeRef(node.id, node.name, dict(node.labels)),
                    interval=interval or self.default_interval,
                    status=NodeStatus(node.status),
                    last_seen=time.monotonic(),
                    last_seen_at=node.last_seen_at or utcnow(),
                    acked=dict(node.acked or {}),
                    dirty=False,
                )

    def connected(
        self, node: NodeRef, *, interval: float, status: NodeStatus, acked: dict[str, int]
    ) -> Beat:
        beat = self.beats.get(node.id)
        if beat is None:
            beat = Beat(node, interval, status, time.monotonic(), utcnow())
            self.beats[node.id] = beat
        beat.node, beat.interval, beat.connected = node, interval, True
        beat.connected_at = utcnow()
        for stream, seq in acked.items():
            beat.acked[stream] = max(beat.acked.get(stream, 0), seq)
        self.seen(node.id)
        return beat

    def seen(self, node_id: str, problems: tuple[str, ...] | None = None) -> None:
        beat = self.beats.get(node_id)
        if beat is None:
            return
        beat.last_seen, beat.last_seen_at, beat.dirty = time.monotonic(), utcnow(), True
        if problems is not None:
            beat.problems = problems

    def set_interval(self, node_id: str, interval: float) -> None:
        beat = self.beats.get(node_id)
        if beat is not None:
            beat.interval = interval

    def disconnected(self, node_id: str) -> None:
        beat = self.beats.get(node_id)
        if beat is not None:
            beat.connected = False

    def forget(self, node_id: str) -> None:
        self.beats.pop(node_id, None)

    def acked(self, node_id: str, stream: str) -> int:
        beat = self.beats.get(node_id)
        return beat.acked.get(stream, 0) if beat else 0

    def set_acked(self, node_id: str, stream: str, seq: int) -> None:
        beat = self.beats.get(node_id)
        if beat is not None:
            beat.acked[stream] = seq
            beat.dirty = True

    def counts(self) -> dict[str, int]:
        """Nodes this process tracks, by status (offline nodes drop out of tracking)."""
        counts = {s.value: 0 for s in (NodeStatus.online, NodeStatus.degraded)}
        for beat in self.beats.values():
            if beat.status.value in counts:
                counts[beat.status.value] += 1
        return counts

    def status_of(self, node_id: str) -> NodeStatus | None:
        beat = self.beats.get(node_id)
        return beat.status if beat else None

    def pending_transitions(self, now: float) -> list[Transition]:
        changes = []
        for beat in self.beats.values():
            new, reason = next_status(beat, now, self.missed_for_offline)
            if new != beat.status:
                changes.append(Transition(beat.node, beat.status, new, reason))
        return changes

    async def tick(self) -> list[Transition]:
        """Apply status transitions now due, and flush heartbeats when it is time."""
        now = time.monotonic()
        changes = self.pending_transitions(now)
        if changes:
            await self._apply(changes)
        if now - self._last_flush >= self.flush_interval:
            await self.flush()
        return changes

    async def _apply(self, changes: list[Transition]) -> None:
        async with self.db.write_session() as session:
            for change in changes:
                beat = self.beats[change.node.id]
                node = await session.get(Node, change.node.id)
                if node is None or node.revoked_at is not None:
                    self.forget(change.node.id)
                    continue
                node.status, node.status_changed_at = change.new.value, utcnow()
                node.last_seen_at, node.problems = beat.last_seen_at, list(beat.problems)
                severity = "warning" if change.new != NodeStatus.online else "info"
                await record_event(
                    session,
                    node_id=node.id,
                    kind="status",
                    severity=severity,
                    message=f"{change.old} -> {change.new}: {change.reason}",
                    data={"old": change.old.value, "new": change.new.value},
                )
                beat.status = change.new
                if change.new == NodeStatus.offline and not beat.connected:
                    self.forget(change.node.id)
        for change in changes:
            await self.bus.publish(
                FLEET_STATUS,
                StatusChange(
                    change.node, change.old.value, change.new.value, change.reason, time.time()
                ),
            )
        if self.on_change is not None:
            await self.on_change(changes)

    async def flush(self) -> None:
        """Write last-seen times, problems and acked sequences of nodes heard from since."""
        self._last_flush = time.monotonic()
        rows: list[dict[str, object]] = []
        for beat in self.beats.values():
            if beat.dirty:
                beat.dirty = False
                row: dict[str, object] = {
                    "id": beat.node.id,
                    "last_seen_at": beat.last_seen_at,
                    "problems": list(beat.problems),
                    "acked": dict(beat.acked),
                }
                if beat.connected_at is not None:
                    row["connected_at"] = beat.connected_at
                rows.append(row)
        # In slices, each its own short transaction: one statement for thousands of nodes
        # would hold the event loop (parameter processing runs on it) for a few hundred ms.
        for start in range(0, len(rows), FLUSH_SLICE):
            async with self.db.write_session() as session:
                await session.execute(update(Node), rows[start : start + FLUSH_SLICE])

    async def run(self, period: float = 0.5) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # one bad tick must not stop presence tracking
                log.exception("presence tick failed")
            await asyncio.sleep(period)
