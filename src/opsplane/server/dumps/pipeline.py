"""The pipeline's running part: analysis after upload, AI summary, report, and recovery.

Every step runs as a background task writing through `write_session`; each attempt is a
processing record. A failed step schedules its automatic retry (see `retries`); the retry
loop (`retry_loop`) and manual retries (`manual`) come back here to run the step again.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Coroutine, Sequence
from typing import Any

import structlog
from sqlalchemy import select

from opsplane.server.alerts.channels.secretbox import SecretBox
from opsplane.server.context import ServerContext
from opsplane.server.dumps import alerting, files, processing, reports, retries, watchrules
from opsplane.server.dumps import config as dump_config
from opsplane.server.dumps import stats as dump_stats
from opsplane.server.dumps.builtin import BuiltinBackend
from opsplane.server.dumps.config import DumpConfig
from opsplane.server.dumps.ingest import NoticeIngest
from opsplane.server.dumps.instruments import DumpMetrics
from opsplane.server.dumps.jenkins import JenkinsBackend
from opsplane.server.dumps.models import FileStatus, ProcessingRecord, RetryRecord
from opsplane.server.dumps.outcome import AnalysisOutcome, failed
from opsplane.server.dumps.retrying import RetryRunner
from opsplane.server.dumps.signing import Signer
from opsplane.server.dumps.states import FileState, RetryState, Step, StepState
from opsplane.server.dumps.summary_step import SummaryStep
from opsplane.server.dumps.uploads import Uploads
from opsplane.server.dumps.watchrules import WatchRuleCache
from opsplane.server.fleet.configpush import push_config

log = structlog.get_logger(__name__)
ANALYSABLE = (FileState.uploaded.value, FileState.failed.value, FileState.analyzed.value)


class DumpPipeline:
    def __init__(self, ctx: ServerContext, metrics: DumpMetrics) -> None:
        settings = ctx.settings
        self.ctx, self.db, self.metrics = ctx, ctx.db, metrics
        self.config = dump_config.defaults(settings)
        self.box = SecretBox(ctx.signing_key)
        self.signer = Signer(ctx.signing_key)
        self.work = settings.data_dir / "dumps-work"
        self.uploads = Uploads(
            db=ctx.db,
            blobs=ctx.blobs,
            area=settings.data_dir / "uploads",
            chunk_size=settings.dumps_chunk_size,
            max_bytes=settings.dumps_max_file_bytes,
            on_stored=self.analyze_soon,
        )
        self.builtin = BuiltinBackend(
            concurrency=settings.dumps_analysis_concurrency,
            timeout=settings.dumps_analysis_timeout,
            memory_mb=settings.dumps_analysis_memory_mb,
        )
        self.jenkins = JenkinsBackend(self)
        self.summaries = SummaryStep(self)
        self.ingest = NoticeIngest(self)
        self.retrying = RetryRunner(self)
        self.rules = WatchRuleCache()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._analysing: set[int] = set()
        self._again: set[int] = set()  # asked for again while running: one more run after

    # -- plumbing -------------------------------------------------------------------------

    async def reload_config(self) -> DumpConfig:
        async with self.db.session() as session:
            self.config = await dump_config.load(session, settings=self.ctx.settings, box=self.box)
        self.rules.upload_bytes_per_second = self.config.upload_bytes_per_second
        self.rules.upload_concurrency = self.config.upload_concurrency
        return self.config

    async def rules_changed(self, specs: Sequence[watchrules.RuleSpec] | None) -> None:
        """Reload the rules; push the new config to the connected agents `specs` select
        (None: to every connected agent)."""
        async with self.db.session() as session:
            await self.rules.load(session)
            nodes = await watchrules.affected_nodes(session, self.ctx.links.node_ids(), specs)
        await asyncio.gather(*(push_config(self.ctx, node) for node in nodes))

    async def refresh_periodically(self, interval: float) -> None:
        """Metrics gauges and the rule cache from the database (other processes change them)."""
        while True:
            try:
                async with self.db.session() as session:
                    self.metrics.update(await dump_stats.collect(session))
                    await self.rules.load(session)
            except Exception:
                log.exception("dump metrics refresh failed")
            await asyncio.sleep(interval)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def idle(self, timeout: float = 60.0) -> None:
        """Wait until no step runs (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks and asyncio.get_running_loop().time() < deadline:
            await asyncio.wait(set(self._tasks), timeout=0.1)

    def touch(self) -> None:
        self.ctx.stream.touch("dumps") if hasattr(self.ctx, "stream") else None

    async def notify(self, exhausted: Sequence[retries.Exhausted | None]) -> None:
        items = [e for e in exhausted if e is not None]
        for item in items:
            self.metrics.retries_exhausted.labels(item.step).inc()
        if items:
            await alerting.notify_exhausted(self.ctx, items)

    # -- analysis ---------------------------------------------------------------------------

    def is_analysing(self, file_id: int) -> bool:
        return file_id in self._analysing

    def analyze_soon(
        self, file_id: int, *, backend: str | None = None, job_id: int | None = None
    ) -> bool:
        """Start analysing the file in the background (False if it already is: it is then
        analysed once more when the current run ends, e.g. a manual retry that came while
        the failed run was still recording its failure)."""
        if file_id in self._analysing:
            self._again.add(file_id)
            return False
        self._analysing.add(file_id)
        backend = backend or self.config.backend
        self.spawn(self._analyze(file_id, backend, job_id), name=f"dump-analysis:{file_id}")
        return True

    async def _begin(self, file_id: int, backend: str) -> tuple[FileStatus, int] | None:
        async with self.db.write_session() as session:
            file = await files.get_file_for_update(session, file_id)
            if file.status not in ANALYSABLE or not file.blob_key:
                return None
            files.move(file, FileState.analyzing)
            record = await processing.start(
                session, file_id=file_id, step=Step.analysis, backend=backend
            )
            return file, record.id

    async def _analyze(self, file_id: int, backend: str, job_id: int | None) -> None:
        try:
            begun = await self._begin(file_id, backend)
            if begun is None:
                return
            file, record_id = begun
            self.touch()
            try:
                outcome = await self._run_backend(file, record_id, backend, job_id)
            except Exception as exc:
                log.exception("analysis failed unexpectedly", file_id=file_id)
                outcome = failed(f"internal error: {type(exc).__name__}: {exc}", "internal")
            if outcome.ok:
                await self._succeeded(file, record_id, backend, outcome)
            else:
                await self._failed(file_id, record_id, outcome)
        finally:
            self._analysing.discard(file_id)
            if file_id in self._again:
                self._again.discard(file_id)
                self.analyze_soon(file_id)
            self.touch()

    async def _run_backend(
        self, file: FileStatus, record_id: int, backend: str, job_id: int | None
    ) -> AnalysisOutcome:
        if backend == "jenkins":
            return await self.jenkins.run(file, record_id, job_id)
        assert file.blob_key is not None
        work = self.work / f"{file.id}-{record_id}"
        dump, temporary = await self.ctx.blobs.local_copy(file.blob_key, work)
        outcome = await self.builtin.run(file.id, dump, work / "report")
        if temporary:
            await asyncio.to_thread(dump.unlink, True)
        return outcome

    async def _failed(self, file_id: int, record_id: int, outcome: AnalysisOutcome) -> None:
        error = outcome.error or "analysis failed"
        async with self.db.write_session() as session:
            record = await session.get(ProcessingRecord, record_id)
            assert record is not None
            processing.finish(
                record,
                ok=False,
                error=error,
                error_type=outcome.error_type,
                details=outcome.details,
            )
            file = await files.get_file_for_update(session, file_id)
            files.move(file, FileState.failed, error=error, error_type=outcome.error_type)
            exhausted = await retries.step_failed(
                session,
                file=file,
                step=Step.analysis,
                error=error,
                policy=self.config.retry_policy,
            )
        self.metrics.step(Step.analysis, ok=False, error_type=outcome.error_type)
        await self.notify([exhausted])

    async def _succeeded(
        self, file: FileStatus, record_id: int, backend: str, outcome: AnalysisOutcome
    ) -> None:
        async with self.db.write_session() as session:
            record = await session.get(ProcessingRecord, record_id)
            assert record is not None
            processing.finish(record, ok=True, details=outcome.details)
        self.metrics.step(Step.analysis, ok=True)
        report = outcome.report or {}
        summary, source = await self.summaries.run(
            file, report.get("summary") or {}, list(report.get("leak_suspects") or [])
        )
        await self._store_report(file, record_id, backend, outcome, (summary, source))

    async def _store_report(
        self,
        file: FileStatus,
        record_id: int,
        backend: str,
        outcome: AnalysisOutcome,
        summary: tuple[str, str],
    ) -> None:
        async with self.db.write_session() as session:
            report_record = await processing.start(session, file_id=file.id, step=Step.report)
        try:
            html_key, json_key = await self._store_blobs(file.id, record_id, outcome)
        except Exception as exc:
            log.exception("could not store the report", file_id=file.id)
            await self._report_failed(file.id, report_record.id, f"report not stored: {exc}")
            return
        finally:
            work = self.work / f"{file.id}-{record_id}"
            await asyncio.to_thread(shutil.rmtree, work, True)
        async with self.db.write_session() as session:
            await reports.save(
                session,
                file_id=file.id,
                backend=backend,
                html_key=html_key,
                json_key=json_key,
                external_url=outcome.external_url,
                report=outcome.report,
                summary=summary[0],
                summary_source=summary[1],
                ttl=self.config.report_link_ttl,
            )
            record = await session.get(ProcessingRecord, report_record.id)
            assert record is not None
            processing.finish(record, ok=True, details={"html": html_key, "json": json_key})
            row = await files.get_file_for_update(session, file.id)
            files.move(row, FileState.analyzed)
            await retries.step_succeeded(session, file_id=file.id, step=Step.analysis)
            gave_up = await self._exhausted_steps(session, file.id)
        self.metrics.step(Step.report, ok=True)
        if gave_up:
            await alerting.resolve(self.ctx, file.id, gave_up)

    async def _store_blobs(
        self, file_id: int, record_id: int, outcome: AnalysisOutcome
    ) -> tuple[str | None, str | None]:
        blobs, prefix = self.ctx.blobs, f"reports/{file_id}/{record_id}"
        html_key = json_key = None
        if outcome.html is not None:
            html_key = f"{prefix}/report.html"
            await blobs.put_file(html_key, outcome.html)
        elif outcome.html_bytes is not None:
            html_key = f"{prefix}/report.html"
            await blobs.put_bytes(html_key, outcome.html_bytes)
        if outcome.json is not None:
            json_key = f"{prefix}/report.json"
            await blobs.put_file(json_key, outcome.json)
        return html_key, json_key

    async def _report_failed(self, file_id: int, report_id: int, error: str) -> None:
        async with self.db.write_session() as session:
            record = await session.get(ProcessingRecord, report_id)
            assert record is not None
            processing.finish(record, ok=False, error=error, error_type="report_storage")
            file = await files.get_file_for_update(session, file_id)
            files.move(file, FileState.failed, error=error, error_type="report_storage")
            exhausted = await retries.step_failed(
                session,
                file=file,
                step=Step.analysis,
                error=error,
                policy=self.config.retry_policy,
            )
        self.metrics.step(Step.report, ok=False, error_type="report_storage")
        await self.notify([exhausted])

    @staticmethod
    async def _exhausted_steps(session: Any, file_id: int) -> list[str]:
        rows = await session.scalars(
            select(RetryRecord.retry_type).where(
                RetryRecord.file_id == file_id,
                RetryRecord.status == RetryState.exhausted.value,
                RetryRecord.manual.is_(False),
            )
        )
        return sorted(set(rows.all()))

    # -- start-up ---------------------------------------------------------------------------

    async def recover(self) -> None:
        """After a restart: analyse what was uploaded, re-run what the restart interrupted."""
        async with self.db.write_session() as session:
            rows = list(
                (
                    await session.scalars(
                        select(FileStatus).where(
                            FileStatus.status.in_(
                                [FileState.uploaded.value, FileState.analyzing.value]
                            )
                        )
                    )
                ).all()
            )
            again = []
            for file in rows:
                if file.status == FileState.analyzing.value:
                    await self._interrupted(session, file)
                again.append(file.id)
        for file_id in again:
            self.analyze_soon(file_id)

    @staticmethod
    async def _interrupted(session: Any, file: FileStatus) -> None:
        error = "interrupted by a server restart"
        for step in (Step.analysis, Step.ai_analysis, Step.report):
            record = await processing.latest(session, file.id, step)
            if record is not None and record.status == StepState.running.value:
                processing.finish(record, ok=False, error=error, error_type="interrupted")
        files.move(file, FileState.failed, error=error, error_type="interrupted")
