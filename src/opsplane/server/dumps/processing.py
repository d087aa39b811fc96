"""Processing records: one row per attempt at a step (upload, analysis, ai_analysis, report)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.db import utcnow
from opsplane.server.dumps.models import ProcessingRecord
from opsplane.server.dumps.states import Step, StepState


async def latest(session: AsyncSession, file_id: int, step: Step) -> ProcessingRecord | None:
    """The newest attempt at `step` for the file."""
    row: ProcessingRecord | None = await session.scalar(
        select(ProcessingRecord)
        .where(ProcessingRecord.file_id == file_id, ProcessingRecord.step == step.value)
        .order_by(ProcessingRecord.id.desc())
        .limit(1)
    )
    return row


async def start(
    session: AsyncSession,
    *,
    file_id: int,
    step: Step,
    backend: str | None = None,
    details: dict[str, Any] | None = None,
) -> ProcessingRecord:
    """A new running attempt; `retry_count` says how many attempts came before it."""
    before = await session.scalar(
        select(func.count())
        .select_from(ProcessingRecord)
        .where(ProcessingRecord.file_id == file_id, ProcessingRecord.step == step.value)
    )
    record = ProcessingRecord(
        file_id=file_id,
        step=step.value,
        status=StepState.running.value,
        retry_count=int(before or 0),
        backend=backend,
        started_at=utcnow(),
        details=dict(details or {}),
    )
    session.add(record)
    await session.flush()
    return record


async def running_or_start(
    session: AsyncSession, *, file_id: int, step: Step, details: dict[str, Any] | None = None
) -> ProcessingRecord:
    """The running attempt at `step` (a resumed upload keeps its attempt), else a new one."""
    current = await latest(session, file_id, step)
    if current is not None and current.status == StepState.running.value:
        return current
    return await start(session, file_id=file_id, step=step, details=details)


def finish(
    record: ProcessingRecord,
    *,
    ok: bool,
    error: str | None = None,
    error_type: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    record.status = (StepState.success if ok else StepState.failed).value
    record.completed_at = utcnow()
    if record.started_at is None:
        record.started_at = record.completed_at
    record.error = None if ok else (error or "failed")[:2048]
    record.error_type = None if ok else (error_type or "error")[:64]
    if details:
        record.details = {**(record.details or {}), **details}


async def finish_running(
    session: AsyncSession,
    *,
    file_id: int,
    step: Step,
    ok: bool,
    error: str | None = None,
    error_type: str | None = None,
    details: dict[str, Any] | None = None,
) -> ProcessingRecord:
    """Close the running attempt at `step` (one is started if none runs, so nothing is lost)."""
    record = await running_or_start(session, file_id=file_id, step=step)
    finish(record, ok=ok, error=error, error_type=error_type, details=details)
    await session.flush()
    return record


async def history(session: AsyncSession, file_id: int) -> list[ProcessingRecord]:
    rows = await session.scalars(
        select(ProcessingRecord)
        .where(ProcessingRecord.file_id == file_id)
        .order_by(ProcessingRecord.id.asc())
    )
    return list(rows.all())
