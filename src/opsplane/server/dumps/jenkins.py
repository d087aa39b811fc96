"""The Jenkins backend: a parameterized job analyses the dump and calls back with its report.

The job gets FILE_ID, FILE_NAME, NODE, APP, NAMESPACE, DOWNLOAD_URL (the dump, through a
signed link) and CALLBACK_URL (signed too: the token in it is the job's only credential).
We follow queue item -> build -> result with python-jenkins (blocking: run in threads), keep
the build URL and console text, then wait for the callback's report URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import httpx
import jenkins
import structlog
from sqlalchemy import select

from opsplane.server.db import utcnow
from opsplane.server.dumps.config import DumpConfig
from opsplane.server.dumps.models import FileStatus, JenkinsJob
from opsplane.server.dumps.outcome import AnalysisOutcome, failed
from opsplane.server.dumps.signing import JENKINS_CALLBACK, JENKINS_DOWNLOAD

if TYPE_CHECKING:
    from opsplane.server.dumps.pipeline import DumpPipeline

log = structlog.get_logger(__name__)
CONSOLE_KEPT = 1 << 20
REPORT_MAX = 64 << 20
CALLBACK_GRACE = 60.0
FINAL = ("success", "failure", "aborted", "error")


class JenkinsFailure(Exception):
    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def client(cfg: DumpConfig) -> Any:
    if not cfg.jenkins_url:
        raise JenkinsFailure("Jenkins is not configured (dumps settings)", "config")
    return jenkins.Jenkins(cfg.jenkins_url, cfg.jenkins_user, cfg.jenkins_token, timeout=30)


class JenkinsBackend:
    name = "jenkins"

    def __init__(self, pipeline: DumpPipeline) -> None:
        self.pipeline = pipeline
        self.callbacks: dict[int, asyncio.Event] = {}  # job id -> set when its callback lands

    def signed_urls(self, file_id: int) -> tuple[str, str]:
        settings, signer = self.pipeline.ctx.settings, self.pipeline.signer
        base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
        expires = int(time.time() + settings.dumps_jenkins_timeout + 3600)
        download = signer.token(JENKINS_DOWNLOAD, file_id, 1, expires)
        callback = signer.token(JENKINS_CALLBACK, file_id, 1, expires)
        return (
            f"{base}/api/v1/jenkins/download/{file_id}?token={download}",
            f"{base}/api/v1/jenkins/callback/{file_id}?token={callback}",
        )

    async def run(self, file: FileStatus, record_id: int, job_id: int | None) -> AnalysisOutcome:
        cfg = self.pipeline.config
        job_id = await self._job(file.id, record_id, job_id, cfg.jenkins_job)
        try:
            server = client(cfg)
            outcome = await self._follow(server, cfg.jenkins_job, file, job_id)
        except JenkinsFailure as exc:
            await self._update(job_id, status="error", error=str(exc))
            return failed(str(exc), exc.kind, jenkins_job_id=job_id)
        except (jenkins.JenkinsException, OSError, ValueError) as exc:
            error = f"Jenkins: {type(exc).__name__}: {exc}"[:1000]
            await self._update(job_id, status="error", error=error)
            return failed(error, "jenkins_api", jenkins_job_id=job_id)
        finally:
            self.callbacks.pop(job_id, None)
        return outcome

    async def _job(self, file_id: int, record_id: int, job_id: int | None, name: str) -> int:
        async with self.pipeline.db.write_session() as session:
            row = await session.get(JenkinsJob, job_id) if job_id is not None else None
            if row is None:
                row = JenkinsJob(file_id=file_id, job_name=name)
                session.add(row)
            row.processing_id, row.status = record_id, "queued"
            await session.flush()
            self.callbacks[row.id] = asyncio.Event()
            return row.id

    async def _update(self, job_id: int, **values: Any) -> JenkinsJob:
        async with self.pipeline.db.write_session() as session:
            row = await session.get(JenkinsJob, job_id, populate_existing=True)
            assert row is not None
            for key, value in values.items():
                setattr(row, key, value)
            return row

    async def _follow(
        self, server: Any, name: str, file: FileStatus, job_id: int
    ) -> AnalysisOutcome:
        download, callback = self.signed_urls(file.id)
        params = {
            "FILE_ID": str(file.id),
            "FILE_NAME": file.file_name,
            "NODE": file.node_name,
            "APP": file.app or "",
            "NAMESPACE": file.namespace or "",
            "DOWNLOAD_URL": download,
            "CALLBACK_URL": callback,
        }
        queue_id = await asyncio.to_thread(server.build_job, name, params)
        await self._update(job_id, queue_id=queue_id)
        number, url = await self._wait_for_build(server, queue_id)
        await self._update(job_id, build_number=number, build_url=url, status="running")
        result = await self._wait_for_result(server, name, number, job_id)
        console = await asyncio.to_thread(server.get_build_console_output, name, number)
        status = {"SUCCESS": "success", "ABORTED": "aborted"}.get(result, "failure")
        row = await self._update(job_id, result=result, console_log=console[-CONSOLE_KEPT:])
        details = {"jenkins_job_id": job_id, "build_url": url, "result": result}
        if status != "success":
            await self._update(job_id, status=status)
            return failed(f"Jenkins build {result or 'failed'}: {url}", "jenkins_build", **details)
        row = await self._wait_for_callback(job_id)
        if row.callback_at is None:
            await self._update(job_id, status="failure", error="no callback")
            return failed("the build finished without calling back", "jenkins_callback", **details)
        return await self._from_callback(row, details)

    async def _wait_for_build(self, server: Any, queue_id: int) -> tuple[int, str]:
        deadline = time.monotonic() + self.pipeline.ctx.settings.dumps_jenkins_timeout
        while time.monotonic() < deadline:
            item = await asyncio.to_thread(server.get_queue_item, queue_id)
            if item.get("cancelled"):
                raise JenkinsFailure("the queued build was cancelled", "jenkins_cancelled")
            executable = item.get("executable")
            if executable:
                return int(executable["number"]), str(executable.get("url", ""))
            await asyncio.sleep(self.pipeline.ctx.settings.dumps_jenkins_poll_interval)
        raise JenkinsFailure("the build never left the queue", "timeout")

    async def _wait_for_result(self, server: Any, name: str, number: int, job_id: int) -> str:
        settings = self.pipeline.ctx.settings
        deadline = time.monotonic() + settings.dumps_jenkins_timeout
        while time.monotonic() < deadline:
            info = await asyncio.to_thread(server.get_build_info, name, number)
            if not info.get("building") and info.get("result"):
                return str(info["result"])
            await self._sleep_or_callback(job_id, settings.dumps_jenkins_poll_interval)
        raise JenkinsFailure("the build did not finish in time", "timeout")

    async def _sleep_or_callback(self, job_id: int, seconds: float) -> None:
        event = self.callbacks.get(job_id)
        if event is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)

    async def _wait_for_callback(self, job_id: int) -> JenkinsJob:
        deadline = time.monotonic() + CALLBACK_GRACE
        while True:
            async with self.pipeline.db.session() as session:
                row = await session.get(JenkinsJob, job_id)
                assert row is not None
            if row.callback_at is not None or time.monotonic() >= deadline:
                return row
            await self._sleep_or_callback(job_id, 1.0)

    async def _from_callback(self, row: JenkinsJob, details: dict[str, Any]) -> AnalysisOutcome:
        body = row.callback or {}
        if str(body.get("status", "success")).lower() not in ("success", "ok"):
            message = str(body.get("message") or "the job reported a failure")[:1000]
            await self._update(row.id, status="failure", error=message)
            return failed(message, "jenkins_job", **details)
        html, error = await self._fetch(row.report_url)
        await self._update(row.id, status="success", error=error)
        report = body.get("report") if isinstance(body.get("report"), dict) else None
        return AnalysisOutcome(
            True,
            report=report,
            html_bytes=html,
            external_url=row.report_url,
            details={**details, "report_url": row.report_url, "fetch_error": error},
        )

    async def _fetch(self, url: str | None) -> tuple[bytes | None, str | None]:
        """The report page from Jenkins, to keep in our blob store (None if unreachable)."""
        if not url:
            return None, "no report URL"
        cfg = self.pipeline.config
        auth = None
        if cfg.jenkins_user and cfg.jenkins_token:
            auth = (cfg.jenkins_user, cfg.jenkins_token)
        try:
            async with httpx.AsyncClient(timeout=60, auth=auth) as http:
                response = await http.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return None, f"report not fetched: {type(exc).__name__}"
        if len(response.content) > REPORT_MAX:
            return None, "report too large to keep"
        return response.content, None

    async def accept_callback(self, file_id: int, body: dict[str, Any]) -> JenkinsJob | None:
        """Store a (signature-checked) callback on the file's newest job; wake its follower."""
        async with self.pipeline.db.write_session() as session:
            row = await session.scalar(
                select(JenkinsJob)
                .where(JenkinsJob.file_id == file_id)
                .order_by(JenkinsJob.id.desc())
                .limit(1)
            )
            if row is None:
                return None
            row.callback = dict(body)
            row.callback_at = utcnow()
            url = body.get("report_url")
            row.report_url = str(url)[:2048] if url else row.report_url
            job_id = row.id
        event = self.callbacks.get(job_id)
        if event is not None:
            event.set()
        return row
