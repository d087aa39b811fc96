"""Node events: status changes, enrollment, revocation, config pushes, agent reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.fleet.models import Node, NodeEvent
from opsplane.server.pagination import decode_cursor, encode_cursor


async def record_event(
    session: AsyncSession,
    *,
    node_id: str,
    kind: str,
    message: str,
    severity: str = "info",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> NodeEvent:
    event = NodeEvent(
        node_id=node_id, kind=kind, message=message[:1024], severity=severity, data=data or {}
    )
    if at is not None:
        event.at = at
    session.add(event)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    node_id: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
) -> tuple[list[tuple[NodeEvent, str]], str | None]:
    """Newest first, each with its node's name."""
    query = (
        select(NodeEvent, Node.name)
        .join(Node, Node.id == NodeEvent.node_id)
        .order_by(NodeEvent.id.desc())
        .limit(limit + 1)
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(NodeEvent.id < int(after[0]))
    if node_id:
        query = query.where(NodeEvent.node_id == node_id)
    if kind:
        query = query.where(NodeEvent.kind == kind)
    if severity:
        query = query.where(NodeEvent.severity == severity)
    rows = [(event, name) for event, name in (await session.execute(query)).all()]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
