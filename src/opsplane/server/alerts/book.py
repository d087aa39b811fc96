"""Persisting alert state changes: the `alerts` row, its history event, its incident.

One call handles one batch of transitions in the caller's session (the engine commits it
before anything is notified, so a notification never describes an unrecorded alert).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import incidents
from opsplane.server.alerts.channels.base import NotifyAlert
from opsplane.server.alerts.evaluation import ActiveAlert, RuleSpec, Transition
from opsplane.server.alerts.models import Alert, AlertEvent, AlertState


def ts(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def notify_alert(alert: Alert) -> NotifyAlert:
    return NotifyAlert(
        fingerprint=alert.fingerprint,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        status="resolved" if alert.state == AlertState.resolved.value else "firing",
        starts_at=alert.fired_at or alert.active_at,
        ends_at=alert.resolved_at,
        value=alert.value,
        generator_url=alert.generator_url,
        alert_id=alert.id,
        incident_id=alert.incident_id,
    )


async def record_transitions(
    session: AsyncSession,
    *,
    rule: RuleSpec,
    transitions: Sequence[Transition],
    group_by: Sequence[str],
    generator_url: str = "",
) -> list[NotifyAlert]:
    """Write the transitions; returns what the notifier must hear (firing and resolved)."""
    out: dict[str, NotifyAlert] = {}
    rows: dict[int, Alert] = {}
    for t in transitions:
        row = await _row(session, rule, t.alert, rows, generator_url)
        row.state = t.new.value
        row.value = t.alert.value
        row.labels, row.annotations = dict(t.alert.labels), dict(t.alert.annotations)
        if t.new is AlertState.firing:
            row.fired_at = ts(t.alert.fired_at)
        if t.new is AlertState.resolved:
            row.resolved_at = ts(t.alert.resolved_at)
        session.add(
            AlertEvent(
                alert_id=row.id,
                rule_id=rule.id,
                at=ts(t.at),
                from_state=t.old.value if t.old else None,
                to_state=t.new.value,
                value=t.alert.value,
            )
        )
        if t.new is AlertState.firing:
            await incidents.attach(session, alert=row, group_by=group_by)
        elif t.new is AlertState.resolved:
            await incidents.alert_resolved(session, alert=row)
        if t.new in (AlertState.firing, AlertState.resolved):
            out[row.fingerprint] = notify_alert(row)
    await session.flush()
    return list(out.values())


async def _row(
    session: AsyncSession,
    rule: RuleSpec,
    alert: ActiveAlert,
    rows: dict[int, Alert],
    generator_url: str,
) -> Alert:
    if alert.alert_id is not None:
        row = rows.get(alert.alert_id) or await session.get(Alert, alert.alert_id)
        if row is not None:
            rows[row.id] = row
            return row
    row = Alert(
        source="rule",
        rule_id=rule.id,
        name=rule.name,
        fingerprint=alert.fingerprint,
        state=AlertState.pending.value,
        severity=alert.labels.get("severity", ""),
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        value=alert.value,
        active_at=ts(alert.active_at),
        generator_url=generator_url,
    )
    session.add(row)
    await session.flush()
    alert.alert_id = row.id
    rows[row.id] = row
    return row


async def load_active(session: AsyncSession) -> list[Alert]:
    """Pending and firing rule alerts (restored into the evaluator after a restart)."""
    return list(
        await session.scalars(
            select(Alert).where(
                Alert.source == "rule",
                Alert.state.in_([AlertState.pending.value, AlertState.firing.value]),
            )
        )
    )


async def load_external_firing(session: AsyncSession) -> list[Alert]:
    """Firing alerts received from Alertmanager (back into the dispatcher after a restart)."""
    return list(
        await session.scalars(
            select(Alert).where(Alert.source != "rule", Alert.state == AlertState.firing.value)
        )
    )


def to_active(row: Alert) -> ActiveAlert:
    return ActiveAlert(
        fingerprint=row.fingerprint,
        labels=dict(row.labels),
        annotations=dict(row.annotations),
        value=row.value if row.value is not None else 0.0,
        state=AlertState(row.state),
        active_at=row.active_at.timestamp(),
        fired_at=row.fired_at.timestamp() if row.fired_at else None,
        alert_id=row.id,
    )
