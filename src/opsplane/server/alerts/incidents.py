"""Incidents: firing alerts grouped by labels, deduplicated, acknowledged, resolved, escalated.

An incident is keyed by the values of the `group_by` labels (setting
`alerts_incident_group_by`). While one is open, every firing alert with the same key joins it
(an alert that fires again joins the same incident: dedup). It resolves when its last alert
resolves, or by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.models import Alert, AlertState, Incident, IncidentEvent, IncidentState
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.db import utcnow
from opsplane.server.errors import Conflict, NotFound
from opsplane.server.pagination import decode_cursor, encode_cursor

SEVERITY_RANK = {
    "critical": 4,
    "page": 4,
    "error": 3,
    "high": 3,
    "warning": 2,
    "medium": 2,
    "info": 1,
    "low": 1,
    "none": 0,
}
OPEN_STATES = (IncidentState.open.value, IncidentState.acknowledged.value)


def incident_key(labels: dict[str, str], group_by: Sequence[str]) -> tuple[str, dict[str, str]]:
    grouped = {k: labels[k] for k in group_by if k in labels} or dict(labels)
    return ",".join(f"{k}={v}" for k, v in sorted(grouped.items()))[:512], grouped


def worse(a: str, b: str) -> str:
    return a if SEVERITY_RANK.get(a, 1) >= SEVERITY_RANK.get(b, 1) else b


async def add_event(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    message: str,
    *,
    actor: str = "system",
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        IncidentEvent(
            incident_id=incident.id, kind=kind, actor=actor, message=message[:512], data=data or {}
        )
    )


async def attach(session: AsyncSession, *, alert: Alert, group_by: Sequence[str]) -> Incident:
    """The open incident a firing alert belongs to, opened if there is none."""
    key, grouped = incident_key(alert.labels, group_by)
    incident = await session.scalar(
        select(Incident)
        .where(Incident.group_key == key, Incident.state.in_(OPEN_STATES))
        .order_by(Incident.id.desc())
        .limit(1)
    )
    if incident is None:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(grouped.items()) if k != "alertname")
        title = alert.name + (f" ({labels})" if labels else "")
        incident = Incident(
            group_key=key,
            group_labels=grouped,
            title=title[:256],
            severity=alert.severity,
            source=alert.source,
            opened_at=alert.fired_at or utcnow(),
        )
        session.add(incident)
        await session.flush()
        await add_event(
            session,
            incident,
            "opened",
            f"opened by {alert.name}",
            data={"alert_id": alert.id, "fingerprint": alert.fingerprint},
        )
    else:
        incident.severity = worse(alert.severity, incident.severity)
        await add_event(
            session,
            incident,
            "alert_firing",
            f"{alert.name} firing",
            data={"alert_id": alert.id, "fingerprint": alert.fingerprint},
        )
    alert.incident_id = incident.id
    return incident


async def alert_resolved(session: AsyncSession, *, alert: Alert) -> Incident | None:
    """Record the alert's end; resolve its incident when nothing in it fires any more."""
    if alert.incident_id is None:
        return None
    incident = await session.get(Incident, alert.incident_id)
    if incident is None or incident.state not in OPEN_STATES:
        return incident
    await add_event(
        session,
        incident,
        "alert_resolved",
        f"{alert.name} resolved",
        data={"alert_id": alert.id, "fingerprint": alert.fingerprint},
    )
    still = await session.scalar(
        select(func.count())
        .select_from(Alert)
        .where(
            Alert.incident_id == incident.id,
            Alert.state == AlertState.firing.value,
            Alert.id != alert.id,
        )
    )
    if not still:
        incident.state = IncidentState.resolved.value
        incident.resolved_at = alert.resolved_at or utcnow()
        await add_event(session, incident, "resolved", "all alerts resolved")
    return incident


async def get_incident(session: AsyncSession, incident_id: int) -> Incident:
    incident = await session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", code="incident_not_found")
    return incident


async def acknowledge(
    session: AsyncSession, *, incident_id: int, comment: str, by: Actor
) -> Incident:
    """Acknowledge: someone is on it (stops escalation)."""
    incident = await get_incident(session, incident_id)
    if incident.state == IncidentState.resolved.value:
        raise Conflict("incident is already resolved", code="incident_resolved")
    if incident.state != IncidentState.acknowledged.value:
        incident.state = IncidentState.acknowledged.value
        incident.acknowledged_at, incident.acknowledged_by = utcnow(), by.name
        await add_event(session, incident, "acknowledged", comment or "acknowledged", actor=by.name)
        await audit.record(
            session,
            by=by,
            action="incident.ack",
            target_type="incident",
            target_id=incident.id,
            summary=incident.title,
            before={"state": "open"},
            after={"state": incident.state},
        )
    return incident


async def resolve(session: AsyncSession, *, incident_id: int, comment: str, by: Actor) -> Incident:
    """Resolve by hand (its alerts go on by themselves; a new firing opens a new incident)."""
    incident = await get_incident(session, incident_id)
    if incident.state != IncidentState.resolved.value:
        before = incident.state
        incident.state = IncidentState.resolved.value
        incident.resolved_at, incident.resolved_by = utcnow(), by.name
        await add_event(session, incident, "resolved", comment or "resolved by hand", actor=by.name)
        await audit.record(
            session,
            by=by,
            action="incident.resolve",
            target_type="incident",
            target_id=incident.id,
            summary=incident.title,
            before={"state": before},
            after={"state": incident.state},
        )
    return incident


async def list_incidents(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    state: Sequence[str] | None = None,
    severity: str | None = None,
    search: str | None = None,
    since: datetime | None = None,
) -> tuple[list[Incident], str | None]:
    """Newest first."""
    query = select(Incident).order_by(Incident.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(Incident.id < int(after[0]))
    if state:
        query = query.where(Incident.state.in_(list(state)))
    if severity:
        query = query.where(Incident.severity == severity)
    if search:
        query = query.where(func.lower(Incident.title).like(f"%{search.lower()}%"))
    if since:
        query = query.where(Incident.opened_at >= since)
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def alert_counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """incident id -> (alerts, firing alerts)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(Alert.incident_id, Alert.state, func.count())
        .where(Alert.incident_id.in_(ids))
        .group_by(Alert.incident_id, Alert.state)
    )
    out: dict[int, tuple[int, int]] = {}
    for incident_id, state, count in rows:
        if incident_id is None:
            continue
        total, firing = out.get(incident_id, (0, 0))
        out[incident_id] = (total + count, firing + (count if state == "firing" else 0))
    return out


async def list_events(
    session: AsyncSession, *, incident_id: int, limit: int, cursor: str | None = None
) -> tuple[list[IncidentEvent], str | None]:
    await get_incident(session, incident_id)
    query = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.id)
        .limit(limit + 1)
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(IncidentEvent.id > int(after[0]))
    rows = list(await session.scalars(query))
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def schedule_escalation(
    session: AsyncSession,
    *,
    incident_ids: Sequence[int],
    after_s: float,
    channel_ids: Sequence[int],
) -> None:
    """First notification through an escalating route: escalate if not acked in time."""
    rows = await session.scalars(
        select(Incident).where(
            Incident.id.in_(list(incident_ids)),
            Incident.escalate_at.is_(None),
            Incident.state == IncidentState.open.value,
        )
    )
    for incident in rows:
        incident.escalate_at = utcnow() + timedelta(seconds=after_s)
        incident.escalation_channel_ids = list(channel_ids)


async def due_escalations(session: AsyncSession) -> list[Incident]:
    return list(
        await session.scalars(
            select(Incident).where(
                Incident.state == IncidentState.open.value,
                Incident.escalated_at.is_(None),
                Incident.escalate_at.is_not(None),
                Incident.escalate_at <= utcnow(),
            )
        )
    )
