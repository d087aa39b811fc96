"""Recording and querying the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit.models import AuditEntry
from opsplane.server.pagination import decode_cursor, encode_cursor

# Keys never written to the audit log, whatever the domain hands over.
_REDACTED = frozenset({"password", "password_hash", "token", "token_hash", "secret", "credential"})


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, as the audit log records it."""

    name: str
    client_ip: str | None = None


SYSTEM = Actor("system")


def _redact(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if data is None:
        return None
    return {k: ("<redacted>" if k in _REDACTED else v) for k, v in data.items()}


async def record(
    session: AsyncSession,
    *,
    by: Actor,
    action: str,
    target_type: str,
    target_id: str | int | None = None,
    summary: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (so it commits with the change itself)."""
    entry = AuditEntry(
        actor=by.name,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        summary=summary[:512],
        before=_redact(before),
        after=_redact(after),
        client_ip=by.client_ip,
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(AuditEntry.id < int(after[0]))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
