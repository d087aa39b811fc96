"""File records: find or create, state moves, listing with filters, manual status changes."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.db import utcnow
from opsplane.server.dumps.models import FileStatus
from opsplane.server.dumps.states import FileState, check_move
from opsplane.server.errors import NotFound
from opsplane.server.pagination import decode_cursor, encode_cursor


class FileNotFound(NotFound):
    code = "file_not_found"


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a notice or an upload request says about a file on a node."""

    node_name: str
    file_key: str
    path: str
    size: int = 0
    node_id: str | None = None
    file_name: str | None = None
    app: str | None = None
    namespace: str | None = None
    meta: dict[str, str] | None = None
    rule_id: str | None = None
    source: str = "agent"


async def get_file(session: AsyncSession, file_id: int) -> FileStatus:
    row = await session.get(FileStatus, file_id)
    if row is None:
        raise FileNotFound(f"file {file_id} not found")
    return row


async def get_file_for_update(session: AsyncSession, file_id: int) -> FileStatus:
    """The file, re-read from the database (another task may have moved it meanwhile)."""
    row = await session.get(FileStatus, file_id, populate_existing=True, with_for_update=True)
    if row is None:
        raise FileNotFound(f"file {file_id} not found")
    return row


async def find_file(session: AsyncSession, node_name: str, file_key: str) -> FileStatus | None:
    row: FileStatus | None = await session.scalar(
        select(FileStatus).where(FileStatus.node_name == node_name, FileStatus.file_key == file_key)
    )
    return row


def _new_row(facts: FileFacts) -> FileStatus:
    return FileStatus(
        file_key=facts.file_key[:256],
        node_id=facts.node_id,
        node_name=facts.node_name[:128],
        file_name=(facts.file_name or posixpath.basename(facts.path) or facts.file_key)[:512],
        path=facts.path[:2048],
        size=max(0, facts.size),
        app=(facts.app or None) and facts.app[:128],
        namespace=(facts.namespace or None) and facts.namespace[:128],
        meta=dict(facts.meta or {}),
        rule_id=facts.rule_id,
        source=facts.source,
        status=FileState.created.value,
    )


def _refresh_facts(row: FileStatus, facts: FileFacts) -> None:
    """Fill in what an earlier notice did not know (metadata only while nothing is uploaded)."""
    if row.status in (FileState.created.value, FileState.uploading.value) and facts.size:
        row.size = facts.size
    row.app = row.app or ((facts.app or None) and facts.app[:128])
    row.namespace = row.namespace or ((facts.namespace or None) and facts.namespace[:128])
    if facts.meta:
        row.meta = {**facts.meta, **(row.meta or {})}
    if row.node_id is None and facts.node_id is not None:
        row.node_id = facts.node_id


async def ensure_file(session: AsyncSession, facts: FileFacts) -> tuple[FileStatus, bool]:
    """The record for (node, file_key), created on first sight: (row, created)."""
    row = await find_file(session, facts.node_name, facts.file_key)
    if row is not None:
        _refresh_facts(row, facts)
        return row, False
    row = _new_row(facts)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:  # a concurrent notice created it first
        existing = await find_file(session, facts.node_name, facts.file_key)
        if existing is None:
            raise
        _refresh_facts(existing, facts)
        return existing, False
    return row, True


def move(
    row: FileStatus,
    new: FileState,
    *,
    error: str | None = None,
    error_type: str | None = None,
) -> None:
    """Apply one state-machine step (IllegalTransition otherwise); stamps the times."""
    old = FileState(row.status)
    if old == new:
        return
    check_move(old, new)
    row.status = new.value
    now = utcnow()
    row.updated_at = now
    if new == FileState.failed:
        row.failed_at = now
        row.error = (error or "failed")[:2048]
        row.error_type = (error_type or "error")[:64]
        return
    row.error = None
    row.error_type = None
    if new == FileState.uploaded:
        row.uploaded_at = now
    elif new == FileState.analyzed:
        row.analyzed_at = now


@dataclass(frozen=True, slots=True)
class FileFilter:
    status: Sequence[FileState] = ()
    app: str | None = None
    namespace: str | None = None
    node: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None


def _filtered(query: Any, f: FileFilter) -> Any:
    if f.status:
        query = query.where(FileStatus.status.in_([s.value for s in f.status]))
    if f.app:
        query = query.where(FileStatus.app == f.app)
    if f.namespace:
        query = query.where(FileStatus.namespace == f.namespace)
    if f.node:
        query = query.where(FileStatus.node_name == f.node)
    if f.since:
        query = query.where(FileStatus.created_at >= f.since)
    if f.until:
        query = query.where(FileStatus.created_at < f.until)
    if f.search:
        needle = f"%{f.search.lower()}%"
        query = query.where(
            or_(
                func.lower(FileStatus.file_name).like(needle),
                func.lower(FileStatus.path).like(needle),
                func.lower(FileStatus.node_name).like(needle),
                func.lower(func.coalesce(FileStatus.app, "")).like(needle),
                func.lower(func.coalesce(FileStatus.error, "")).like(needle),
            )
        )
    return query


async def list_files(
    session: AsyncSession, *, limit: int, cursor: str | None = None, where: FileFilter
) -> tuple[list[FileStatus], str | None]:
    """Newest first."""
    query = _filtered(select(FileStatus), where).order_by(FileStatus.id.desc()).limit(limit + 1)
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(FileStatus.id < int(after[0]))
    rows = list((await session.scalars(query)).all())
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def iter_files(session: AsyncSession, *, where: FileFilter, batch: int = 500) -> Any:
    """Every matching file, newest first, fetched in batches (for the CSV export)."""
    last_id: int | None = None
    while True:
        query = _filtered(select(FileStatus), where).order_by(FileStatus.id.desc()).limit(batch)
        if last_id is not None:
            query = query.where(FileStatus.id < last_id)
        rows = list((await session.scalars(query)).all())
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        last_id = rows[-1].id


async def set_status(
    session: AsyncSession, *, file_id: int, status: FileState, reason: str, by: Actor
) -> FileStatus:
    """A manual state change (for external pipelines); the state machine still applies."""
    row = await get_file(session, file_id)
    before = row.status
    move(row, status, error=reason or f"set to failed by {by.name}", error_type="manual")
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.file.status",
        target_type="dump_file",
        target_id=row.id,
        summary=f"{row.file_name} on {row.node_name}: {before} -> {row.status}",
        before={"status": before},
        after={"status": row.status, "reason": reason},
    )
    return row
