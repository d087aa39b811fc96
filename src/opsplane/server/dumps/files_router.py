"""Files HTTP API (compatible with existing watchers and scripts): list, detail, status,
retries, per-node listing, notices from external watchers, CSV export, dump download."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from opsplane.server.deps import ActorDep, AsOperator, AsViewer, ContextDep, SessionDep
from opsplane.server.dumps import files, notices, processing, reports, retries
from opsplane.server.dumps.files import FileFacts, FileFilter
from opsplane.server.dumps.retrying import RetryStarted
from opsplane.server.dumps.schemas import (
    BatchRetry,
    FileDetail,
    FileNotify,
    FileRead,
    RetryResult,
    StatusRead,
    StatusUpdate,
)
from opsplane.server.dumps.states import FileState
from opsplane.server.dumps.views import file_detail, file_read
from opsplane.server.errors import DomainError, NotFound
from opsplane.server.fleet.models import Node
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["dumps"])
Text = Annotated[str | None, Query(max_length=128)]
CSV_COLUMNS = (
    "id",
    "file_name",
    "node",
    "app",
    "namespace",
    "status",
    "size",
    "path",
    "error_type",
    "error",
    "created_at",
    "uploaded_at",
    "analyzed_at",
    "failed_at",
)


def _filter(
    status: Annotated[list[FileState] | None, Query(description="Repeat to OR.")] = None,
    app: Text = None,
    namespace: Text = None,
    node: Text = None,
    since: Annotated[datetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Created before.")] = None,
    search: Text = None,
) -> FileFilter:
    return FileFilter(tuple(status or ()), app, namespace, node, since, until, search)


@router.get("/files", dependencies=[AsViewer])
async def list_files(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    status: Annotated[list[FileState] | None, Query(description="Repeat to OR.")] = None,
    app: Text = None,
    namespace: Text = None,
    node: Text = None,
    since: Annotated[datetime | None, Query(description="Created at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Created before.")] = None,
    search: Text = None,
) -> Page[FileRead]:
    """Heap-dump files, newest first, with filters."""
    where = _filter(status, app, namespace, node, since, until, search)
    rows, next_cursor = await files.list_files(session, limit=limit, cursor=cursor, where=where)
    return Page(items=[file_read(r) for r in rows], next_cursor=next_cursor)


@router.get("/files/export.csv", dependencies=[AsViewer], response_class=StreamingResponse)
async def export_files(
    ctx: ContextDep,
    status: Annotated[list[FileState] | None, Query(description="Repeat to OR.")] = None,
    app: Text = None,
    namespace: Text = None,
    node: Text = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    search: Text = None,
) -> StreamingResponse:
    """Every matching file as CSV (streamed; same filters as the list)."""
    where = _filter(status, app, namespace, node, since, until, search)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        async with ctx.db.session() as session:
            async for row in files.iter_files(session, where=where):
                read = file_read(row).model_dump()
                writer.writerow(["" if read.get(c) is None else read[c] for c in CSV_COLUMNS])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="heap-dumps.csv"'},
    )


@router.get("/files/node/{node_name}", dependencies=[AsViewer])
async def files_of_node(
    node_name: str, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[FileRead]:
    """The files of one node (by node name), newest first."""
    rows, next_cursor = await files.list_files(
        session, limit=limit, cursor=cursor, where=FileFilter(node=node_name)
    )
    return Page(items=[file_read(r) for r in rows], next_cursor=next_cursor)


@router.post("/files/notify", dependencies=[AsOperator])
async def notify(body: FileNotify, ctx: ContextDep, actor: ActorDep) -> FileRead:
    """A file event from an external watcher (created | upload_started | upload_completed |
    upload_failed | missing); idempotent."""
    async with ctx.db.session() as session:
        node = await session.scalar(select(Node).where(Node.name == body.node))
    facts = FileFacts(
        node_name=body.node,
        file_key=body.file_key or body.path,
        path=body.path,
        size=body.size,
        node_id=node.id if node else None,
        file_name=body.file_name,
        app=body.app,
        namespace=body.namespace,
        meta=body.metadata,
        source="external",
    )
    applied = await ctx.dumps.ingest.apply_one(
        notices.Notice(body.event, facts, body.error), by=actor
    )
    return file_read(applied)


@router.get("/files/{file_id}", dependencies=[AsViewer])
async def get_file(file_id: int, ctx: ContextDep, session: SessionDep) -> FileDetail:
    """A file with every processing attempt, its retries and its report summary."""
    row = await files.get_file(session, file_id)
    return file_detail(
        row,
        await processing.history(session, file_id),
        await retries.for_file(session, file_id),
        await reports.find(session, file_id),
        await ctx.dumps.uploads.latest(session, file_id),
    )


@router.get("/files/{file_id}/status", dependencies=[AsViewer])
async def get_status(file_id: int, session: SessionDep) -> StatusRead:
    """Just the file's state."""
    row = await files.get_file(session, file_id)
    return StatusRead(
        id=row.id, status=FileState(row.status), error=row.error, updated_at=row.updated_at
    )


@router.put("/files/{file_id}/status", dependencies=[AsOperator])
async def put_status(
    file_id: int, body: StatusUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> StatusRead:
    """Move the file to another state (the state machine applies: 409 if not allowed)."""
    row = await files.set_status(
        session, file_id=file_id, status=body.status, reason=body.reason, by=actor
    )
    await session.commit()
    ctx.dumps.touch()
    return StatusRead(
        id=row.id, status=FileState(row.status), error=row.error, updated_at=row.updated_at
    )


def _result(started: RetryStarted) -> RetryResult:
    return RetryResult(
        file_id=started.file_id,
        step=started.step,
        retry_id=started.retry_id,
        dispatched=started.dispatched,
        error=started.error,
    )


@router.post("/files/retry", dependencies=[AsOperator])
async def retry_files(body: BatchRetry, ctx: ContextDep, actor: ActorDep) -> list[RetryResult]:
    """Retry many files; each result says what was redone or why nothing was."""
    results = []
    for file_id in dict.fromkeys(body.file_ids):
        try:
            started = await ctx.dumps.retrying.manual(file_id, by=actor)
        except DomainError as exc:
            results.append(RetryResult(file_id=file_id, error=exc.message, code=exc.code))
            continue
        results.append(_result(started))
    ctx.dumps.touch()
    return results


@router.post("/files/{file_id}/retry", dependencies=[AsOperator])
async def retry_file(file_id: int, ctx: ContextDep, actor: ActorDep) -> RetryResult:
    """Redo what failed: re-request the upload from the file's node, or re-run the analysis
    from the stored file, or ask the AI again (409 if nothing failed)."""
    started = await ctx.dumps.retrying.manual(file_id, by=actor)
    ctx.dumps.touch()
    return _result(started)


@router.get("/files/{file_id}/download", dependencies=[AsViewer])
async def download(file_id: int, ctx: ContextDep, session: SessionDep) -> StreamingResponse:
    """The stored dump itself."""
    row = await files.get_file(session, file_id)
    if not row.blob_key:
        raise NotFound(f"file {file_id} has not been uploaded", code="not_uploaded")
    return StreamingResponse(
        ctx.blobs.read_range(row.blob_key),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{quote(row.file_name)}"',
            "Content-Length": str(row.size),
        },
    )
