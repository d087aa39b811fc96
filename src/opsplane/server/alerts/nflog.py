"""The persisted notification log: load at start, store after a delivery, forget closed groups."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.models import NotificationLog
from opsplane.server.db import utcnow

# Entries older than this are of no use (no repeat_interval is that long in practice).
KEEP = timedelta(days=7)

Row = tuple[str, int, frozenset[str], frozenset[str], datetime]


async def load(session: AsyncSession) -> list[Row]:
    await session.execute(delete(NotificationLog).where(NotificationLog.at < utcnow() - KEEP))
    rows = await session.scalars(select(NotificationLog))
    return [
        (r.group_key, r.channel_id, frozenset(r.firing), frozenset(r.resolved), r.at) for r in rows
    ]


async def store(
    session: AsyncSession,
    *,
    group_key: str,
    channel_id: int,
    firing: Iterable[str],
    resolved: Iterable[str],
    at: datetime,
) -> None:
    row = await session.scalar(
        select(NotificationLog).where(
            NotificationLog.group_key == group_key, NotificationLog.channel_id == channel_id
        )
    )
    if row is None:
        row = NotificationLog(group_key=group_key, channel_id=channel_id)
        session.add(row)
    row.firing, row.resolved, row.at = sorted(firing), sorted(resolved), at


async def forget(session: AsyncSession, *, group_key: str) -> None:
    await session.execute(delete(NotificationLog).where(NotificationLog.group_key == group_key))
