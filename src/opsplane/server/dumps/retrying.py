"""Running retries: the automatic loop over due retry records, and manual retries.

What is redone depends on the step: an upload is re-requested from the node holding the file
(the `reupload` command over its link; the agent resumes from where it stopped), an analysis
is re-run from the stored file, an AI summary is asked for again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.dumps import files, processing, retries
from opsplane.server.dumps.models import FileStatus, ProcessingRecord, RetryRecord
from opsplane.server.dumps.states import FileState, RetryState, Step, StepState
from opsplane.server.errors import Conflict, DomainError

if TYPE_CHECKING:
    from opsplane.server.dumps.pipeline import DumpPipeline

log = structlog.get_logger(__name__)
REUPLOAD_TIMEOUT = 15.0


class NothingToRetry(Conflict):
    code = "nothing_to_retry"


@dataclass(frozen=True, slots=True)
class RetryStarted:
    file_id: int
    step: str
    retry_id: int
    dispatched: bool
    error: str | None = None


def choose_step(file: FileStatus, ai_failed: bool) -> Step:
    """What a manual retry redoes for a file in this state (NothingToRetry if nothing)."""
    status = FileState(file.status)
    if status in (FileState.created, FileState.uploading) or (
        status == FileState.failed and not file.blob_key
    ):
        return Step.upload
    if status == FileState.failed:
        return Step.analysis
    if status == FileState.analyzed and ai_failed:
        return Step.ai_analysis
    raise NothingToRetry(
        f"file {file.id} is {file.status}: nothing failed that a retry would redo",
        details={"status": file.status},
    )


class RetryRunner:
    def __init__(self, pipeline: DumpPipeline) -> None:
        self.pipeline = pipeline

    async def run(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.run_due()
            except Exception:
                log.exception("retry loop failed; trying again next round")

    async def run_due(self) -> int:
        """Start every due retry (claimed under the cluster-wide retry lock); returns how many."""
        async with self.pipeline.db.write_session() as session:
            due = [(r.id, r.file_id, Step(r.retry_type)) for r in await retries.claim_due(session)]
        for retry_id, file_id, step in due:
            await self.attempt(retry_id, file_id, step)
        return len(due)

    async def attempt(self, retry_id: int, file_id: int, step: Step) -> str | None:
        """Start one retry; returns an error if it could not even be started."""
        log.info("retrying", file_id=file_id, step=step.value, retry_id=retry_id)
        if step == Step.upload:
            return await self.reupload(file_id)
        if step == Step.analysis:
            self.pipeline.analyze_soon(file_id)
        else:
            self.pipeline.spawn(self.pipeline.summaries.retry(file_id), f"dump-ai:{file_id}")
        return None

    async def reupload(self, file_id: int) -> str | None:
        """Ask the node holding the file to upload it again; returns the error if it cannot."""
        db = self.pipeline.db
        async with db.write_session() as session:
            file = await files.get_file(session, file_id)
            node_id, args = file.node_id, {"file_key": file.file_key, "path": file.path}
            record = await processing.start(
                session, file_id=file_id, step=Step.upload, details={"trigger": "reupload"}
            )
        error, error_type = None, None
        if node_id is None:
            error, error_type = (
                "no agent holds this file (an external watcher announced it)",
                ("no_agent"),
            )
        else:
            try:
                result = await self.pipeline.ctx.commands.send(
                    node_id, "reupload", args, timeout=REUPLOAD_TIMEOUT
                )
                if not result.ok:
                    error, error_type = f"agent refused: {result.error}", "agent_refused"
            except DomainError as exc:
                error, error_type = exc.message, exc.code
        if error is not None:
            await self._reupload_failed(file_id, record.id, error, error_type or "error")
        return error

    async def _reupload_failed(
        self, file_id: int, record_id: int, error: str, error_type: str
    ) -> None:
        async with self.pipeline.db.write_session() as session:
            record = await session.get(ProcessingRecord, record_id)
            if record is not None and record.status == StepState.running.value:
                processing.finish(record, ok=False, error=error, error_type=error_type)
            file = await files.get_file_for_update(session, file_id)
            if file.status in (FileState.created.value, FileState.uploading.value):
                files.move(file, FileState.failed, error=error, error_type=error_type)
            exhausted = await retries.step_failed(
                session,
                file=file,
                step=Step.upload,
                error=error,
                policy=self.pipeline.config.retry_policy,
            )
        self.pipeline.metrics.step(Step.upload, ok=False, error_type=error_type)
        await self.pipeline.notify([exhausted])

    async def manual(self, file_id: int, *, by: Actor) -> RetryStarted:
        """Redo what failed for this file, now (audited)."""
        async with self.pipeline.db.write_session() as session:
            file = await files.get_file_for_update(session, file_id)
            ai = await processing.latest(session, file_id, Step.ai_analysis)
            step = choose_step(file, ai is not None and ai.status == StepState.failed.value)
            record = await retries.start_manual(
                session,
                file_id=file_id,
                step=step,
                reason=f"manual retry by {by.name}",
                by=by.name,
            )
            retry_id = record.id
            await audit.record(
                session,
                by=by,
                action="dumps.file.retry",
                target_type="dump_file",
                target_id=file_id,
                summary=f"retry {step.value} of {file.file_name} on {file.node_name}",
                after={"step": step.value, "retry_id": retry_id},
            )
        error = await self.attempt(retry_id, file_id, step)
        if error is not None:
            async with self.pipeline.db.write_session() as session:
                row = await session.get(RetryRecord, retry_id)
                if row is not None:
                    row.status, row.last_error = RetryState.exhausted.value, error[:2048]
        return RetryStarted(file_id, step.value, retry_id, error is None, error)
