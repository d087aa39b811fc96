"""Alerts as the API lists them (current and past), and their history of state changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.models import Alert, AlertEvent
from opsplane.server.errors import NotFound
from opsplane.server.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True, slots=True)
class EventOfAlert:
    """A state change with what the history shows of its alert (read in the same query)."""

    event: AlertEvent
    name: str
    labels: dict[str, str]
    severity: str
    incident_id: int | None


async def get_alert(session: AsyncSession, alert_id: int) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", code="alert_not_found")
    return alert


async def list_alerts(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    state: Sequence[str] | None = None,
    severity: str | None = None,
    rule_id: int | None = None,
    source: str | None = None,
    incident_id: int | None = None,
    search: str | None = None,
    labels: dict[str, str] | None = None,
    since: datetime | None = None,
) -> tuple[list[Alert], str | None]:
    """Newest first. Label filters are applied in Python (JSON columns, portable)."""
    query = select(Alert).order_by(Alert.id.desc())
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(Alert.id < int(after[0]))
    if state:
        query = query.where(Alert.state.in_(list(state)))
    if severity:
        query = query.where(Alert.severity == severity)
    if rule_id is not None:
        query = query.where(Alert.rule_id == rule_id)
    if source:
        query = query.where(Alert.source == source)
    if incident_id is not None:
        query = query.where(Alert.incident_id == incident_id)
    if since:
        query = query.where(Alert.active_at >= since)
    if search:
        query = query.where(func.lower(Alert.name).like(f"%{search.lower()}%"))
    if not labels:
        rows = list(await session.scalars(query.limit(limit + 1)))
    else:
        rows = []
        for row in await session.scalars(query):
            if all(row.labels.get(k) == v for k, v in labels.items()):
                rows.append(row)
                if len(rows) > limit:
                    break
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def list_events(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    alert_id: int | None = None,
    rule_id: int | None = None,
    to_state: str | None = None,
) -> tuple[list[EventOfAlert], str | None]:
    """State changes, newest first, each with its alert's name and labels (one query)."""
    query = (
        select(AlertEvent, Alert.name, Alert.labels, Alert.severity, Alert.incident_id)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .order_by(AlertEvent.id.desc())
        .limit(limit + 1)
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(AlertEvent.id < int(after[0]))
    if alert_id is not None:
        query = query.where(AlertEvent.alert_id == alert_id)
    if rule_id is not None:
        query = query.where(AlertEvent.rule_id == rule_id)
    if to_state:
        query = query.where(AlertEvent.to_state == to_state)
    rows = [EventOfAlert(*row) for row in (await session.execute(query)).all()]
    next_cursor = encode_cursor(rows[limit - 1].event.id) if len(rows) > limit else None
    return rows[:limit], next_cursor
