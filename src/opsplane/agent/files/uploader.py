"""The upload queue: announced files go up one transfer each, `upload_concurrency` at a time.

Each file moves through the known-files table (`announced -> uploading -> uploaded -> done`,
or `failed` / `missing`) with a notice spooled at each step, so an agent restarted at any
point picks the work up where it was: `run()` first re-queues every unfinished file, and
the transfer resumes at the server's offset.
"""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
import structlog

from opsplane.agent.config import LiveConfig
from opsplane.agent.files.after import apply_after_upload
from opsplane.agent.files.bandwidth import TokenBucket
from opsplane.agent.files.client import UploadClient, UploadSession
from opsplane.agent.files.known import FileRecord, KnownFiles
from opsplane.agent.files.notices import Notifier
from opsplane.agent.files.transfer import FileGone, Transfer, TransferFailed, TransferLimits

log = structlog.get_logger(__name__)


class Uploader:
    """Runs uploads off a queue of file keys.

    Args:
        known: The known-files table (state, upload id and offset of each file).
        notifier: Spools upload_started / upload_completed / upload_failed / missing.
        config: Live config: `upload_concurrency` and `upload_bytes_per_second`.
        client: The server's upload API.
        limits: Chunk size and retry limits of each transfer.
    """

    def __init__(
        self,
        *,
        known: KnownFiles,
        notifier: Notifier,
        config: LiveConfig,
        client: UploadClient,
        limits: TransferLimits,
    ) -> None:
        self.known = known
        self.notifier = notifier
        self.config = config
        self.client = client
        self.limits = limits
        self.bucket = TokenBucket(lambda: config.current.upload_bytes_per_second)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()  # queued or running: never twice at once
        self._again: set[str] = set()  # asked for again while running: once more after
        self._running: set[asyncio.Task[None]] = set()
        self._freed = asyncio.Event()

    def enqueue(self, key: str) -> bool:
        """Queue a file's upload; False when it is queued or running already."""
        if key in self._pending:
            return False
        self._pending.add(key)
        self._queue.put_nowait(key)
        return True

    def busy(self, key: str) -> bool:
        return key in self._pending

    def again(self, key: str) -> None:
        """Upload the file once more when its current run ends (a reupload that came while
        the last one was still finishing, after the server saw it complete)."""
        if key in self._pending:
            self._again.add(key)
        else:
            self.enqueue(key)

    async def run(self) -> None:
        for record in await self.known.unfinished():
            self.enqueue(record.key)
        while True:
            key = await self._queue.get()
            await self._wait_for_a_slot()
            task = asyncio.create_task(self._process(key), name=f"upload-{key}")
            self._running.add(task)
            task.add_done_callback(self._done)

    async def aclose(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def _wait_for_a_slot(self) -> None:
        while len(self._running) >= max(1, self.config.current.upload_concurrency):
            self._freed.clear()
            # The timeout picks up a raised concurrency limit without waiting for a finish.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._freed.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._freed.set()

    async def _process(self, key: str) -> None:
        try:
            record = await self.known.get(key)
            if record is not None:
                await self._upload(record)
        except Exception:
            log.exception("upload crashed", key=key)
            # A bug must not leave the file half-done for ever: say so and let a retry decide.
            await self._fail(key, "agent error while uploading (see the agent log)")
        finally:
            self._pending.discard(key)
            if key in self._again:
                self._again.discard(key)
                await self._rerun(key)

    async def _rerun(self, key: str) -> None:
        if await self.known.update(key, state="announced", error=None) is not None:
            self.enqueue(key)  # (None: forgotten meanwhile, nothing to redo)

    async def _upload(self, record: FileRecord) -> None:
        if record.state in ("announced", "uploading"):
            record = await self._transfer(record) or record
        if record.state == "uploaded":
            error = await apply_after_upload(record, self.known)
            await self.known.update(record.key, state="done", error=error)

    async def _transfer(self, record: FileRecord) -> FileRecord | None:
        """Upload the file; the record as `uploaded`, or None when it failed or is gone."""
        current = record

        async def opened(session: UploadSession) -> None:
            nonlocal current
            current = await self._opened(current, session)

        transfer = Transfer(
            record,
            client=self.client,
            bucket=self.bucket,
            limits=self.limits,
            on_opened=opened,
            on_progress=lambda offset: self.known.update(record.key, offset=offset),
        )
        try:
            sha256 = await transfer.run()
        except FileGone as exc:
            await self._missing(record, str(exc))
            return None
        except TransferFailed as exc:
            await self._fail(record.key, str(exc))
            return None
        done = msgspec.structs.replace(
            record,
            upload_id=transfer.upload_id,
            offset=record.size,
            sha256=sha256,
            state="uploaded",
        )
        await self.notifier.notify("upload_completed", done, sha256=sha256)
        await self.known.update(
            record.key,
            state="uploaded",
            upload_id=done.upload_id,
            offset=done.offset,
            sha256=sha256,
        )
        log.info("file uploaded", path=record.path, size=record.size, sha256=sha256)
        return done

    async def _opened(self, record: FileRecord, session: UploadSession) -> FileRecord:
        """Note the server's upload; upload_started goes out once, when the first one opens.

        A resumed upload (state already "uploading", after a restart) is not announced again.
        """
        started = msgspec.structs.replace(record, state="uploading", upload_id=session.upload_id)
        if record.state == "announced":
            await self.notifier.notify("upload_started", started)
        if started != record:
            await self.known.update(
                record.key, state="uploading", upload_id=session.upload_id, error=None
            )
        return started

    async def _missing(self, record: FileRecord, error: str) -> None:
        log.warning("file gone before its upload finished", path=record.path, error=error)
        await self.notifier.notify("missing", record, error=error)
        await self.known.update(record.key, state="missing", error=error)

    async def _fail(self, key: str, error: str) -> None:
        record = await self.known.get(key)
        if record is None:
            return
        log.warning("upload failed", path=record.path, error=error)
        await self.notifier.notify("upload_failed", record, error=error)
        await self.known.update(key, state="failed", error=error)
