"""The agent's heap-dump pipeline wired together: known files, watcher, uploader, `reupload`.

`FilePipeline.open` builds it from the agent's settings; `run()` watches and uploads until
cancelled; `reupload` is the server's command handler for a manual (or automatic) retry.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
import msgspec
import structlog

from opsplane.agent.commands import CommandError
from opsplane.agent.config import LiveConfig
from opsplane.agent.files.client import UploadClient
from opsplane.agent.files.known import FileRecord, KnownFiles, file_key
from opsplane.agent.files.notices import Notifier
from opsplane.agent.files.transfer import TransferLimits
from opsplane.agent.files.uploader import Uploader
from opsplane.agent.files.watcher import Watcher
from opsplane.agent.settings import AgentSettings
from opsplane.agent.spool import AsyncSpool
from opsplane.protocol.commands import Command

log = structlog.get_logger(__name__)


class ReuploadArgs(msgspec.Struct, frozen=True):
    file_key: str
    path: str


class FilePipeline:
    """Watches the rules' directories, uploads what it finds, answers `reupload`."""

    def __init__(
        self,
        *,
        known: KnownFiles,
        notifier: Notifier,
        watcher: Watcher,
        uploader: Uploader,
        retention: float = 30 * 86400.0,
    ) -> None:
        self.known = known
        self.notifier = notifier
        self.watcher = watcher
        self.uploader = uploader
        self.retention = retention

    @classmethod
    async def open(
        cls,
        *,
        db_path: Path,
        settings: AgentSettings,
        credential: str,
        spool: AsyncSpool,
        config: LiveConfig,
        proc_root: Path = Path("/proc"),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> FilePipeline:
        """Open the known-files table and build the parts from the settings.

        Args:
            db_path: The known-files SQLite file in the state dir.
            settings: Agent settings (server URL, poll interval, upload limits).
            credential: The agent's link credential, also its upload API credential.
            spool: Where notices go.
            config: Live config (watch rules, upload concurrency and bandwidth).
            proc_root: The proc filesystem (tests).
            transport: HTTP transport for the upload API (tests).
        """
        known = await KnownFiles(db_path).open()
        notifier = Notifier(spool)
        client = UploadClient(
            settings.api_url(), credential, timeout=settings.http_timeout, transport=transport
        )
        limits = TransferLimits(
            chunk_max=settings.upload_chunk_max,
            max_failures=settings.upload_max_failures,
            backoff_base=settings.upload_backoff_base,
            backoff_cap=settings.upload_backoff_cap,
        )
        uploader = Uploader(
            known=known, notifier=notifier, config=config, client=client, limits=limits
        )
        watcher = Watcher(
            config=config,
            known=known,
            notifier=notifier,
            on_announced=uploader.enqueue,
            poll_interval=settings.file_poll_interval,
            proc_root=proc_root,
        )
        return cls(
            known=known,
            notifier=notifier,
            watcher=watcher,
            uploader=uploader,
            retention=settings.files_retention,
        )

    async def run(self) -> None:
        forgotten = await self.known.forget_terminal(older_than=self.retention, gone=_gone)
        if forgotten:
            log.info("forgot finished files no longer on disk", count=forgotten)
        async with asyncio.TaskGroup() as group:
            group.create_task(self.watcher.run(), name="files-watch")
            group.create_task(self.uploader.run(), name="files-upload")

    async def aclose(self) -> None:
        await self.uploader.aclose()
        await self.uploader.client.aclose()
        await self.known.close()

    def problems(self) -> list[str]:
        return self.watcher.problems()

    async def reupload(self, command: Command) -> Any:
        """`reupload {file_key, path}`: upload the file again, resuming where the server is."""
        args = _reupload_args(command)
        record = await self.known.get(args.file_key)
        if record is not None and self.uploader.busy(record.key):
            self.uploader.again(record.key)  # the running upload may be past the point of use
            return {"file_key": record.key, "path": record.path, "state": "queued"}
        path = record.path if record is not None else args.path
        if not await asyncio.to_thread(_is_file, path, args.file_key):
            await self._gone(record, args)
        if record is None:
            record = await self._adopt(args)
        else:
            await self.known.update(record.key, state="announced", error=None)
        self.uploader.enqueue(record.key)
        log.info("reupload queued", path=record.path, key=record.key)
        return {"file_key": record.key, "path": record.path, "state": "queued"}

    async def _gone(self, record: FileRecord | None, args: ReuploadArgs) -> None:
        error = f"{record.path if record else args.path} is gone: nothing to upload again"
        if record is None:
            record = FileRecord(
                key=args.file_key, path=args.path, size=0, inode=0, mtime_ns=0, state="missing"
            )
        else:
            await self.known.update(record.key, state="missing", error=error)
        await self.notifier.notify("missing", record, error=error)
        raise CommandError(error)

    async def _adopt(self, args: ReuploadArgs) -> FileRecord:
        """A file the server knows but this state dir does not (it was wiped, say)."""
        info = await asyncio.to_thread(os.stat, args.path)
        record = FileRecord(
            key=args.file_key,
            path=args.path,
            size=info.st_size,
            inode=info.st_ino,
            mtime_ns=info.st_mtime_ns,
            state="announced",
        )
        return await self.known.put(record)


def _reupload_args(command: Command) -> ReuploadArgs:
    try:
        return msgspec.convert(command.args, ReuploadArgs)
    except msgspec.ValidationError as exc:
        raise CommandError(f"invalid reupload arguments: {exc}") from None


def _is_file(path: str, key: str) -> bool:
    """Whether `path` is still the very file `key` names (a rewritten file has a new key)."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    return file_key(path, info.st_ino, info.st_mtime_ns) == key


def _gone(record: FileRecord) -> bool:
    return not _is_file(record.path, record.key)
