"""Audit HTTP API (admin only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from opsplane.server.audit import service
from opsplane.server.audit.schemas import AuditEntryRead
from opsplane.server.deps import AsAdmin, SessionDep
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[AsAdmin])


@router.get("")
async def list_audit(
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEntryRead]:
    """Audit entries, newest first; `action` matches a prefix (e.g. `user.`)."""
    rows, next_cursor = await service.list_entries(
        session,
        limit=limit,
        cursor=cursor,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    return Page(items=[AuditEntryRead.model_validate(r) for r in rows], next_cursor=next_cursor)
