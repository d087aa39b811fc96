"""The ai_analysis step: a processing record around `summary`, with retries when the AI
endpoint fails (the deterministic summary stands in meanwhile)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsplane.server.dumps import files, processing, reports, retries
from opsplane.server.dumps.models import FileStatus, ProcessingRecord
from opsplane.server.dumps.states import FileState, Step
from opsplane.server.dumps.summary import AIEndpoint, SummaryError, ask_ai, deterministic

if TYPE_CHECKING:
    from opsplane.server.dumps.pipeline import DumpPipeline


class SummaryStep:
    def __init__(self, pipeline: DumpPipeline) -> None:
        self.pipeline = pipeline

    def endpoint(self) -> AIEndpoint | None:
        cfg = self.pipeline.config
        if not cfg.ai_url:
            return None
        timeout = self.pipeline.ctx.settings.dumps_ai_timeout
        return AIEndpoint(cfg.ai_url, cfg.ai_model, cfg.ai_key, timeout)

    async def run(
        self, file: FileStatus, heap: dict[str, Any], suspects: list[dict[str, Any]]
    ) -> tuple[str, str]:
        """(summary, source): the AI's narrative, or the deterministic one."""
        db, endpoint = self.pipeline.db, self.endpoint()
        async with db.write_session() as session:
            record = await processing.start(
                session,
                file_id=file.id,
                step=Step.ai_analysis,
                details={"model": endpoint.model if endpoint else None},
            )
        fallback = deterministic(heap, suspects)
        if endpoint is None:
            await self._finish(record.id, ok=True, source="deterministic")
            return fallback, "deterministic"
        try:
            text = await ask_ai(endpoint, heap, suspects)
        except SummaryError as exc:
            await self._fail(file, record.id, str(exc))
            return fallback, "deterministic"
        await self._finish(record.id, ok=True, source="ai")
        return text, "ai"

    async def _finish(self, record_id: int, *, ok: bool, source: str) -> None:
        async with self.pipeline.db.write_session() as session:
            record = await session.get(ProcessingRecord, record_id)
            assert record is not None
            processing.finish(record, ok=ok, details={"source": source})
            await retries.step_succeeded(session, file_id=record.file_id, step=Step.ai_analysis)
        self.pipeline.metrics.step(Step.ai_analysis, ok=True)

    async def _fail(self, file: FileStatus, record_id: int, error: str) -> None:
        async with self.pipeline.db.write_session() as session:
            record = await session.get(ProcessingRecord, record_id)
            assert record is not None
            processing.finish(record, ok=False, error=error, error_type="ai_endpoint")
            row = await files.get_file(session, file.id)
            exhausted = await retries.step_failed(
                session,
                file=row,
                step=Step.ai_analysis,
                error=error,
                policy=self.pipeline.config.retry_policy,
            )
        self.pipeline.metrics.step(Step.ai_analysis, ok=False, error_type="ai_endpoint")
        await self.pipeline.notify([exhausted])

    async def retry(self, file_id: int) -> None:
        """Ask the AI again for an analysed file; the report's summary is replaced on success."""
        async with self.pipeline.db.write_session() as session:
            file = await files.get_file(session, file_id)
            report = await reports.find(session, file_id)
            if report is None:
                # The analysis whose summary failed is still storing its report: wait for it
                # (the attempt is not spent) unless the file has moved on without one.
                waiting = file.status == FileState.analyzing.value
                await retries.postpone(
                    session, file_id=file_id, step=Step.ai_analysis, wait=waiting, delay=1.0
                )
                return
        summary, source = await self.run(file, dict(report.heap), list(report.suspects))
        if source == "ai":
            async with self.pipeline.db.write_session() as session:
                row = await reports.get(session, file_id)
                row.summary, row.summary_source = summary, source
