"""The running alerting engine: rule states in memory, their persistence, and notification.

Everything that changes an alert goes through `AlertEngine.apply` (rules) or `dispatch`
(alerts received from Alertmanager): state changes are committed first, then handed to the
dispatcher, which groups, deduplicates, mutes and sends.

Single process: rule state lives in this process's memory (restored from the database at
start). Running several servers needs leader election for evaluation (not built yet).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import (
    alertmanager_in,
    book,
    incidents,
    inhibition,
    nflog,
    recording,
    silences,
)
from opsplane.server.alerts import rules as rule_service
from opsplane.server.alerts.alertmanager_in import AMAlert, AMWebhook, Received
from opsplane.server.alerts.builder import FastPath, fast_path_of
from opsplane.server.alerts.channels import service as channel_service
from opsplane.server.alerts.channels.base import (
    ChannelConfig,
    Notification,
    NotifyAlert,
    Outcome,
)
from opsplane.server.alerts.channels.secretbox import SecretBox
from opsplane.server.alerts.delivery import Deliverer, RetryPolicy
from opsplane.server.alerts.dispatcher import Dispatcher, LogEntry
from opsplane.server.alerts.evaluation import RuleSpec, RuleState, Transition
from opsplane.server.alerts.health import RuleHealthBook
from opsplane.server.alerts.inhibition import InhibitSpec
from opsplane.server.alerts.instruments import AlertMetrics
from opsplane.server.alerts.leadership import Leadership
from opsplane.server.alerts.models import Alert, AlertState
from opsplane.server.alerts.routing import ResolvedRoute, RouteNode, Router, Timing, get_tree
from opsplane.server.alerts.rules import GroupSpec
from opsplane.server.alerts.silences import SilenceSpec
from opsplane.server.db import Database, utcnow
from opsplane.server.settings import Settings

if TYPE_CHECKING:
    from opsplane.server.alerts.agentwatch import AgentWatches
    from opsplane.server.alerts.fastpath import FastPathEvaluator
    from opsplane.server.alerts.scheduler import Scheduler

log = structlog.get_logger(__name__)


class AlertEngine:
    def __init__(
        self, *, db: Database, settings: Settings, signing_key: str, metrics: AlertMetrics
    ) -> None:
        self.db, self.settings, self.metrics = db, settings, metrics
        self.box = SecretBox(signing_key)
        self.group_by = tuple(settings.alerts_incident_group_by)
        self.external_url = (settings.public_url or "").rstrip("/")
        self.defaults = Timing(
            ("alertname",),
            settings.alerts_group_wait,
            settings.alerts_group_interval,
            settings.alerts_repeat_interval,
        )
        self.deliverer = Deliverer(
            db,
            metrics,
            timeout=settings.alerts_delivery_timeout,
            policy=RetryPolicy(settings.alerts_delivery_attempts, settings.alerts_retry_base_delay),
        )
        self.router = Router(RouteNode(), self.defaults)
        self.channels: dict[int, ChannelConfig] = {}
        self.silences: list[SilenceSpec] = []
        self.inhibitions: list[InhibitSpec] = []
        self.groups: dict[int, GroupSpec] = {}
        self.states: dict[int, RuleState] = {}
        self.fast: dict[int, FastPath] = {}
        self.health = RuleHealthBook()
        # Recording rules write through this (the metrics domain's storage, set by setup).
        self.record_to: Callable[[Sequence[Any]], Any] | None = None
        self.recorder = recording.Recorder(self._record)
        self._locks: dict[int, asyncio.Lock] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.dispatcher = Dispatcher(
            router=lambda: self.router,
            channels=lambda: self.channels,
            muted=self.muted,
            send=self._send,
            notified=self._notified,
            closed=lambda key: self._spawn(self._forget_log(key)),
            external_url=self.external_url,
        )
        self.query_backend: Callable[[], Any] = lambda: None
        self.leadership = Leadership(db)
        self.leadership.on_elected = self.take_over
        # Called whenever alerts change (the UI stream's `alerts` topic).
        self.on_change: Callable[[], None] = lambda: None
        # Called after every reload (the scheduler re-plans its group loops).
        self.after_reload: list[Callable[[], None]] = []
        self.parts: tuple[FastPathEvaluator, Scheduler]  # set by setup.install
        self.watches: AgentWatches  # set by setup.install

    # -- configuration ----------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read rules, routing, channels, silences and inhibitions from the database."""
        async with self.db.session() as session:
            groups, specs = await rule_service.load_enabled(session)
            recordings = await recording.list_recordings(session, enabled_only=True)
            tree = await get_tree(session)
            self.channels = await channel_service.load_all(session, self.box)
            self.silences = await silences.load_live(session)
            self.inhibitions = await inhibition.load_enabled(session)
        self.router = Router(tree, self.defaults)
        self.groups = {g.id: g for g in groups}
        self.recorder.load([recording.to_spec(r) for r in recordings])
        await self._reconcile(specs)
        for hook in self.after_reload:
            hook()

    async def _record(self, batch: Sequence[Any]) -> int:
        if self.record_to is None:
            raise RuntimeError("no metrics storage to record into")
        stored: int = await self.record_to(batch)
        return stored

    async def reload_notification_config(self) -> None:
        async with self.db.session() as session:
            tree = await get_tree(session)
            self.channels = await channel_service.load_all(session, self.box)
            self.silences = await silences.load_live(session)
            self.inhibitions = await inhibition.load_enabled(session)
        self.router = Router(tree, self.defaults)

    async def _reconcile(self, specs: Sequence[RuleSpec]) -> None:
        wanted = {s.id: s for s in specs}
        for rule_id in [r for r in self.states if r not in wanted]:
            gone = self.states.pop(rule_id)
            self.fast.pop(rule_id, None)
            self.health.forget(rule_id)
            async with self._lock(rule_id):
                await self._commit(gone.rule, gone.retire(time.time()))
        for spec in specs:
            state = self.states.get(spec.id)
            if state is None:
                self.states[spec.id] = RuleState(spec)
            else:
                if state.rule.query != spec.query:
                    self.health.forget(spec.id)
                state.rule = spec  # keeps active alerts across edits, like a Prometheus reload
            fast = fast_path_of(spec.query) if self.settings.alerts_fast_path else None
            if fast is None:
                self.fast.pop(spec.id, None)
            else:
                self.fast[spec.id] = fast

    async def restore(self) -> None:
        """Take back pending/firing alerts and the notification log after a restart: what was
        delivered is not sent again, what never left is sent now."""
        async with self.db.write_session() as session:
            rows = await book.load_active(session)
            external = await book.load_external_firing(session)
            log_rows = await nflog.load(session)
        skew = time.monotonic() - time.time()
        self.dispatcher.restore_log(
            (key, channel_id, LogEntry(firing, resolved, at.timestamp() + skew))
            for key, channel_id, firing, resolved, at in log_rows
        )
        restored = [book.notify_alert(row) for row in external]
        for row in rows:
            rule_state = self.states.get(row.rule_id or -1)
            if rule_state is None:
                continue
            rule_state.restore(book.to_active(row))
            if row.state == AlertState.firing.value:
                restored.append(book.notify_alert(row))
        self.dispatcher.submit(restored)

    async def take_over(self) -> None:
        """Elected leader: the database, not this process's memory, says what is active."""
        await self.reload()
        for state in self.states.values():
            state.active.clear()
        await self.restore()

    @property
    def leads(self) -> bool:
        return self.leadership.is_leader

    def rules_in_group(self, group_id: int) -> list[RuleSpec]:
        return [s.rule for s in self.states.values() if s.rule.group_id == group_id]

    # -- state changes -----------------------------------------------------------------------

    def _lock(self, rule_id: int) -> asyncio.Lock:
        return self._locks.setdefault(rule_id, asyncio.Lock())

    async def apply(
        self,
        rule_id: int,
        present: Sequence[tuple[Mapping[str, str], float]],
        now: float,
        *,
        absent: Callable[[str], bool] | None = None,
    ) -> None:
        """Apply one evaluation of one rule; persist and notify what changed."""
        state = self.states.get(rule_id)
        if state is None:
            return
        async with self._lock(rule_id):
            transitions = state.apply(present, now, absent=absent)
            if transitions:
                await self._commit(state.rule, transitions)

    async def _commit(self, rule: RuleSpec, transitions: Sequence[Transition]) -> None:
        if not transitions:
            return
        url = f"{self.external_url}/alerts/rules/{rule.id}" if self.external_url else ""
        # Background writer: on SQLite it queues behind the others instead of racing them.
        async with self.db.write_session() as session:
            notify = await book.record_transitions(
                session,
                rule=rule,
                transitions=transitions,
                group_by=self.group_by,
                generator_url=url,
            )
        for t in transitions:
            self.metrics.transitions.labels(t.new.value).inc()
        self.dispatch(notify)

    async def raise_alerts(self, alerts: Sequence[AMAlert], *, source: str) -> Received:
        """Raise (status firing) or end (resolved) alerts made outside the rule engine.

        For other domains: the alerts get incidents, dedup by fingerprint, silences,
        inhibition and routing like any other. `source` names the caller (<= 16 chars).
        """
        payload = AMWebhook(version="4", receiver=source, alerts=list(alerts))
        async with self.db.write_session() as session:
            summary, changed = await alertmanager_in.receive(
                session, payload=payload, group_by=self.group_by, source=source[:16]
            )
        self.dispatch(changed)
        return summary

    def dispatch(self, alerts: Iterable[NotifyAlert]) -> None:
        alerts = list(alerts)
        if alerts:
            self.dispatcher.submit(alerts)
        self.on_change()

    # -- muting and escalation ---------------------------------------------------------------

    def muted(self, alert: NotifyAlert, firing: list[NotifyAlert]) -> bool:
        return bool(self.silenced_by(alert.labels)) or self.inhibited(alert.labels, firing)

    def silenced_by(self, labels: Mapping[str, str]) -> list[int]:
        now = utcnow()
        return [s.id for s in self.silences if s.mutes(dict(labels), now)]

    def inhibited(self, labels: Mapping[str, str], firing: list[NotifyAlert] | None = None) -> bool:
        if not self.inhibitions:
            return False
        sources = [a.labels for a in (firing if firing is not None else self.dispatcher.firing())]
        return inhibition.inhibited(self.inhibitions, labels, sources)

    def _send(self, channel: ChannelConfig, n: Notification, entry: LogEntry) -> None:
        task = self.deliverer.submit(channel, n)
        at = utcnow()

        def delivered(done: asyncio.Task[Outcome]) -> None:
            if not done.cancelled() and done.exception() is None and done.result().ok:
                self._spawn(self._store_log(n.group_key, channel.id, entry, at))

        task.add_done_callback(delivered)

    async def _store_log(self, key: str, channel_id: int, entry: LogEntry, at: datetime) -> None:
        async with self.db.write_session() as session:
            await nflog.store(
                session,
                group_key=key,
                channel_id=channel_id,
                firing=entry.firing,
                resolved=entry.resolved,
                at=at,
            )

    async def _forget_log(self, key: str) -> None:
        async with self.db.write_session() as session:
            await nflog.forget(session, group_key=key)

    def _notified(self, route: ResolvedRoute, n: Notification) -> None:
        if route.escalate_after and route.escalate_to and n.incident_ids and n.status == "firing":
            self._spawn(
                self._schedule_escalation(n.incident_ids, route.escalate_after, route.escalate_to)
            )

    async def _schedule_escalation(
        self, ids: list[int], after: float, channel_ids: Sequence[int]
    ) -> None:
        async with self.db.write_session() as session:
            await incidents.schedule_escalation(
                session, incident_ids=ids, after_s=after, channel_ids=channel_ids
            )

    def evaluated(
        self, rule_id: int, *, at: float, duration_s: float, error: str | None = None
    ) -> None:
        """Record a scheduled evaluation's outcome; a rule starting or stopping to fail is news."""
        if self.health.record(rule_id, at=at, duration_s=duration_s, error=error):
            self.on_change()

    async def escalate_due(self) -> None:
        """Notify the escalation channels of open incidents nobody acknowledged in time."""
        if not self.leads:
            return
        async with self.db.write_session() as session:
            due = await incidents.due_escalations(session)
            for incident in due:
                incident.escalated_at = utcnow()
                await incidents.add_event(
                    session,
                    incident,
                    "escalated",
                    "not acknowledged in time: escalated",
                    data={"channels": incident.escalation_channel_ids},
                )
                alerts = await self._incident_alerts(session, incident.id)
                for channel_id in incident.escalation_channel_ids:
                    channel = self.channels.get(int(channel_id))
                    if channel is None or not channel.enabled:
                        continue
                    self.deliverer.submit(
                        channel,
                        Notification(
                            id=f"esc{incident.id}-{channel.id}",
                            kind="escalation",
                            receiver=channel.name,
                            group_key=incident.group_key,
                            group_labels=incident.group_labels,
                            alerts=tuple(alerts),
                            external_url=self.external_url,
                        ),
                    )
        if due:
            self.on_change()

    async def _incident_alerts(self, session: AsyncSession, incident_id: int) -> list[NotifyAlert]:
        rows = await session.scalars(
            select(Alert).where(
                Alert.incident_id == incident_id, Alert.state == AlertState.firing.value
            )
        )
        return [book.notify_alert(r) for r in rows]

    # -- background -------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def count_alerts(self) -> dict[str, int]:
        counts = {"pending": 0, "firing": 0}
        for state in self.states.values():
            for alert in state.active.values():
                if alert.state.value in counts:
                    counts[alert.state.value] += 1
        return counts

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.deliverer.close()
