"""File notices (from agents over their links, or from external watchers) drive the state
machine. Every notice is idempotent: a repeated or late notice changes nothing it should not.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.dumps import files, processing, retries
from opsplane.server.dumps.files import FileFacts
from opsplane.server.dumps.models import FileStatus
from opsplane.server.dumps.retries import Exhausted, RetryPolicy
from opsplane.server.dumps.states import FileState, Step

BEFORE_UPLOAD = (FileState.created.value, FileState.uploading.value)


@dataclass(frozen=True, slots=True)
class Notice:
    event: str  # created | upload_started | upload_completed | upload_failed | missing
    facts: FileFacts
    error: str | None = None


@dataclass(slots=True)
class Applied:
    file: FileStatus
    created: bool
    exhausted: Exhausted | None = None


async def apply(session: AsyncSession, notice: Notice, *, policy: RetryPolicy) -> Applied:
    file, created = await files.ensure_file(session, notice.facts)
    applied = Applied(file, created)
    if notice.event == "upload_started":
        if file.status in (FileState.created.value, FileState.failed.value) and not file.blob_key:
            files.move(file, FileState.uploading)
            await processing.running_or_start(session, file_id=file.id, step=Step.upload)
    elif notice.event == "upload_failed":
        if file.status in BEFORE_UPLOAD:
            applied.exhausted = await upload_failed(
                session,
                file,
                notice.error or "upload failed on the agent",
                "agent_upload",
                policy=policy,
            )
    elif notice.event == "missing" and (
        file.status in BEFORE_UPLOAD
        or (file.status == FileState.failed.value and not file.blob_key)
    ):
        await file_missing(session, file)
    # created / upload_completed: the record exists; the upload API itself moves the state.
    await session.flush()
    return applied


async def upload_failed(
    session: AsyncSession, file: FileStatus, error: str, error_type: str, *, policy: RetryPolicy
) -> Exhausted | None:
    await processing.finish_running(
        session, file_id=file.id, step=Step.upload, ok=False, error=error, error_type=error_type
    )
    if file.status != FileState.failed.value:
        files.move(file, FileState.failed, error=error, error_type=error_type)
    return await retries.step_failed(
        session, file=file, step=Step.upload, error=error, policy=policy
    )


async def file_missing(session: AsyncSession, file: FileStatus) -> None:
    """The dump is gone from its node before it was uploaded: nothing left to retry."""
    error = f"{file.path} no longer exists on {file.node_name}"
    running = await processing.latest(session, file.id, Step.upload)
    if running is not None and running.status == "running":
        processing.finish(running, ok=False, error=error, error_type="missing")
    if file.status != FileState.failed.value:
        files.move(file, FileState.failed, error=error, error_type="missing")
    else:
        file.error, file.error_type = error, "missing"
    await retries.cancel(session, file_id=file.id, reason=error)
