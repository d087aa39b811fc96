"""One file's resumable upload: open or resume the server's upload, send chunks, complete.

The server's offset is the truth: every attempt starts from `GET` (or `POST` for a new
upload), and a 409 moves to the offset the server names. The sha256 covers the bytes the
server accepted, so resuming at N re-reads the file's first N bytes once to rebuild it.
Network errors and 5xx are retried with jittered exponential backoff; an unreachable
server is waited for without limit (the file is not at fault), while a server that keeps
answering errors makes the transfer give up after `max_failures` attempts without
progress. File reads and hashing run in worker threads; at most one chunk is in memory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from opsplane.agent.backoff import Backoff
from opsplane.agent.files.bandwidth import TokenBucket
from opsplane.agent.files.client import (
    PIECE,
    ChunkTooLarge,
    OffsetMismatch,
    Rejected,
    ShaMismatch,
    Transient,
    UnknownUpload,
    UploadClient,
    UploadSession,
)
from opsplane.agent.files.known import FileRecord

log = structlog.get_logger(__name__)

_READ_PIECE = 1024 * 1024  # file reads while hashing a prefix
# Bytes hashed per worker-thread call: a stop (SIGTERM) never waits for a whole GB file.
_HASH_STEP = 64 * 1024 * 1024
Hasher = Any  # hashlib's sha256 object has no public type


@dataclasses.dataclass(frozen=True, kw_only=True)
class TransferLimits:
    chunk_max: int = 4 * 1024 * 1024  # the server's chunk_size, if smaller, wins
    max_failures: int = 10  # consecutive error answers without progress before giving up
    max_sha_mismatches: int = 3
    max_restarts: int = 3  # the server forgot the upload (404) this many times
    backoff_base: float = 1.0
    backoff_cap: float = 60.0


class TransferFailed(Exception):
    """The upload of this file is given up; the message goes into the upload_failed notice."""


class FileGone(TransferFailed):
    """The file is no longer there (or is another file now)."""


class Transfer:
    """Uploads one file; `run()` returns the sha256 the server verified.

    Args:
        record: The file (path, size and identity as announced; upload_id to resume).
        client: The upload API.
        bucket: The agent-wide bandwidth limit.
        limits: Chunk size and retry limits.
        on_opened: Awaited with each upload session the server opens or resumes.
        on_progress: Awaited with each offset the server confirms.
    """

    def __init__(
        self,
        record: FileRecord,
        *,
        client: UploadClient,
        bucket: TokenBucket,
        limits: TransferLimits,
        on_opened: Callable[[UploadSession], Awaitable[None]],
        on_progress: Callable[[int], Awaitable[object]],
    ) -> None:
        self.record = record
        self.client = client
        self.bucket = bucket
        self.limits = limits
        self.on_opened = on_opened
        self.on_progress = on_progress
        self.upload_id = record.upload_id
        self._progressed = False

    async def run(self) -> str:
        backoff = Backoff(base=self.limits.backoff_base, cap=self.limits.backoff_cap)
        failures = sha_mismatches = restarts = 0
        while True:
            self._progressed = False
            try:
                return await self._attempt()
            except Transient as exc:
                if self._progressed:
                    failures = 0
                    backoff.reset()
                if exc.reachable:  # an absent server is waited for, not counted against the file
                    failures += 1
                if failures >= self.limits.max_failures:
                    raise TransferFailed(
                        f"gave up after {failures} failed attempts: {exc}"
                    ) from exc
                await self._pause(backoff.next_delay(), exc)
            except ShaMismatch as exc:
                sha_mismatches += 1
                if sha_mismatches >= self.limits.max_sha_mismatches:
                    raise TransferFailed(f"sha256 mismatch {sha_mismatches} times") from exc
                log.warning("sha256 mismatch: uploading again", path=self.record.path)
            except UnknownUpload as exc:
                restarts += 1
                if restarts > self.limits.max_restarts:
                    raise TransferFailed(f"server keeps losing the upload: {exc}") from exc
                self.upload_id = None
            except Rejected as exc:
                raise TransferFailed(f"server refused the upload: {exc}") from exc

    async def _pause(self, delay: float, exc: Exception) -> None:
        log.info("upload retry scheduled", path=self.record.path, error=str(exc), retry_in=delay)
        await asyncio.sleep(delay)

    async def _attempt(self) -> str:
        session = await self._session()
        if session.size != self.record.size:
            raise TransferFailed(
                f"server expects {session.size} bytes, the file has {self.record.size}"
            )
        if not 0 <= session.offset <= session.size:
            raise Rejected(f"server offset {session.offset} is outside the file")
        fd = await asyncio.to_thread(_open_same_file, self.record)
        try:
            if session.complete:
                # The server already has it all (a restart after the last chunk, say).
                whole = await _hash_file(fd, hashlib.sha256(), 0, session.size)
                return str(whole.hexdigest())
            return await self._send(fd, session)
        finally:
            os.close(fd)

    async def _session(self) -> UploadSession:
        session = None
        if self.upload_id is not None:
            try:
                session = await self.client.status(self.upload_id)
            except UnknownUpload:
                log.info("server forgot the upload: opening a new one", path=self.record.path)
        if session is None:
            session = await self._open()
        self.upload_id = session.upload_id
        await self.on_opened(session)
        return session

    async def _open(self) -> UploadSession:
        record = self.record
        try:
            return await self.client.open(
                file_key=record.key,
                path=record.path,
                file_name=os.path.basename(record.path),
                size=record.size,
            )
        except UnknownUpload as exc:
            # 404 on the collection itself: the server has no upload API.
            raise Rejected(f"no upload endpoint on the server ({exc})") from exc
        except ChunkTooLarge as exc:
            raise Rejected(f"the server takes no file this large ({exc})") from exc

    async def _send(self, fd: int, session: UploadSession) -> str:
        size, offset = self.record.size, session.offset
        hasher = await _hash_file(fd, hashlib.sha256(), 0, offset)
        chunk = max(1, min(session.chunk_size, self.limits.chunk_max))
        while offset < size:
            length = min(self._paced_chunk(chunk), size - offset)
            data = await asyncio.to_thread(_read_exactly, fd, length, offset)
            try:
                confirmed = await self.client.put_chunk(
                    session.upload_id, offset, data, self.bucket
                )
            except OffsetMismatch as exc:
                if exc.offset == offset:  # a server contradicting itself: count it as an error
                    raise Transient(
                        f"server refused its own offset {offset}", reachable=True
                    ) from exc
                log.info("resuming at the server's offset", at=exc.offset, path=self.record.path)
                confirmed, data = exc.offset, b""
            except ChunkTooLarge as exc:
                chunk //= 2
                if chunk < PIECE:
                    raise Rejected(f"chunks refused as too large: {exc}") from exc
                continue
            hasher = await self._advance(fd, hasher, offset, confirmed, data)
            offset = confirmed
            await self.on_progress(offset)
        await asyncio.to_thread(_check_unchanged, fd, self.record)
        digest: str = hasher.hexdigest()
        await self.client.complete(session.upload_id, digest)
        return digest

    def _paced_chunk(self, chunk: int) -> int:
        """Under a low bandwidth limit, chunks of ~10 s: a cut loses little, no proxy times out."""
        rate = self.bucket.rate()
        return min(chunk, max(PIECE, rate * 10)) if rate else chunk

    async def _advance(
        self, fd: int, hasher: Hasher, offset: int, confirmed: int, data: bytes
    ) -> Hasher:
        """The hash of the file's first `confirmed` bytes, given `hasher` at `offset`."""
        if not 0 <= confirmed <= self.record.size:
            raise Rejected(f"server offset {confirmed} is outside the file")
        if confirmed > offset:
            self._progressed = True
        if data and confirmed == offset + len(data):
            await asyncio.to_thread(hasher.update, data)
            return hasher
        if confirmed >= offset:
            return await _hash_file(fd, hasher, offset, confirmed)
        return await _hash_file(fd, hashlib.sha256(), 0, confirmed)


def _open_same_file(record: FileRecord) -> int:
    """A read-only fd on the announced file; FileGone when it is missing or was replaced."""
    try:
        fd = os.open(record.path, os.O_RDONLY)
    except FileNotFoundError:
        raise FileGone(f"{record.path} no longer exists") from None
    except OSError as exc:
        raise TransferFailed(f"cannot read {record.path}: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if (info.st_ino, info.st_mtime_ns, info.st_size) != (
        record.inode,
        record.mtime_ns,
        record.size,
    ):
        os.close(fd)
        raise FileGone(f"{record.path} changed after it was announced (another file now)")
    return fd


def _check_unchanged(fd: int, record: FileRecord) -> None:
    # Written to in place while it went up: what the server has is a mix of two versions.
    info = os.fstat(fd)
    if (info.st_mtime_ns, info.st_size) != (record.mtime_ns, record.size):
        raise FileGone(f"{record.path} was modified while it was uploaded")


def _read_exactly(fd: int, size: int, offset: int) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise TransferFailed(f"file shrank while uploading (short read at {offset})")
    return data


async def _hash_file(fd: int, hasher: Hasher, start: int, end: int) -> Hasher:
    """Feed bytes [start, end) of the file to `hasher`, in worker threads, step by step."""
    for offset in range(start, end, _HASH_STEP):
        hasher = await asyncio.to_thread(
            _hash_range, fd, hasher, offset, min(end, offset + _HASH_STEP)
        )
    return hasher


def _hash_range(fd: int, hasher: Hasher, start: int, end: int) -> Hasher:
    """Feed bytes [start, end) of the file to `hasher` (in a worker thread: files are GBs)."""
    offset = start
    while offset < end:
        data = _read_exactly(fd, min(_READ_PIECE, end - offset), offset)
        hasher.update(data)
        offset += len(data)
    return hasher
