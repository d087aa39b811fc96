"""Write-ahead log: what `write()` acknowledged survives `kill -9` (and, fsynced, power loss).

Segments `<dir>/00000001.wal`, ... hold records `<I length><I crc32>` + payload. Writers
hand a record to `append` and wait; one committer writes everything queued since its last
round with a single `write` + `fsync` in a worker thread (group commit: a thousand agents
acking at once cost one fsync, and the event loop never blocks on the disk).

Policies: `always` fsyncs before `append` returns; `interval` returns after the `write`
(safe against a process crash, the page cache survives `kill -9`) and fsyncs every
`fsync_interval` seconds (at most that much lost on power loss).

`rotate()` starts a new segment and returns the number of the last sealed one; once the
samples written before it are in chunks, `truncate(upto)` deletes the sealed segments.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import structlog

log = structlog.get_logger(__name__)

FsyncPolicy = Literal["always", "interval"]
_FRAME = struct.Struct("<II")
SEGMENT_BYTES = 128 << 20


class WalError(OSError):
    """The log could not be written: nothing in that group was acknowledged."""


def _segment_number(path: Path) -> int:
    return int(path.stem)


def frame(payload: bytes) -> bytes:
    return _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def read_segment(path: Path) -> tuple[list[bytes], int]:
    """The intact records of a segment and the byte offset where they end."""
    data = path.read_bytes()
    records: list[bytes] = []
    offset = 0
    while offset + _FRAME.size <= len(data):
        length, crc = _FRAME.unpack_from(data, offset)
        payload = data[offset + _FRAME.size : offset + _FRAME.size + length]
        if len(payload) != length or zlib.crc32(payload) != crc:
            break  # a torn write at the tail: never acknowledged
        records.append(payload)
        offset += _FRAME.size + length
    return records, offset


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    def __init__(
        self,
        directory: Path,
        *,
        fsync: FsyncPolicy = "always",
        fsync_interval: float = 1.0,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.directory = directory
        self.policy = fsync
        self.fsync_interval = fsync_interval
        self.segment_bytes = segment_bytes
        self._queue: list[bytes] = []
        self._waiters: asyncio.Future[None] | None = None
        self._committer: asyncio.Task[None] | None = None
        self._fsyncer: asyncio.Task[None] | None = None
        self._io_lock: asyncio.Lock | None = None
        self._fd = -1
        self._size = 0
        self.segment = 0
        self.groups = 0  # commit rounds, for tests and /metrics

    # --- open and replay ---------------------------------------------------------------

    def segments(self) -> list[Path]:
        return sorted(self.directory.glob("*.wal"), key=_segment_number)

    def replay(self) -> Iterator[bytes]:
        """Every intact record, oldest first; cuts a torn tail off the last segment."""
        paths = self.segments()
        for index, path in enumerate(paths):
            records, end = read_segment(path)
            if end != path.stat().st_size:
                if index == len(paths) - 1:
                    log.warning(
                        "wal: cutting a torn tail",
                        segment=path.name,
                        dropped_bytes=path.stat().st_size - end,
                    )
                    os.truncate(path, end)
                else:
                    log.error(
                        "wal: corrupt record inside a sealed segment", segment=path.name, offset=end
                    )
            yield from records

    def open(self) -> None:
        """Start a fresh segment after the existing ones (call after `replay`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._io_lock = asyncio.Lock()
        existing = self.segments()
        self._open_segment(_segment_number(existing[-1]) + 1 if existing else 1)
        if self.policy == "interval":
            self._fsyncer = asyncio.get_running_loop().create_task(self._fsync_every())

    def _open_segment(self, number: int) -> None:
        path = self.directory / f"{number:08d}.wal"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        _fsync_dir(self.directory)
        old, self._fd, self._size, self.segment = self._fd, fd, 0, number
        if old >= 0:
            os.fsync(old)
            os.close(old)

    # --- appending ---------------------------------------------------------------------

    async def append(self, *payloads: bytes) -> None:
        """Queue records; returns once they are written (and fsynced under `always`)."""
        self._queue.extend(frame(payload) for payload in payloads)
        if self._waiters is None:
            self._waiters = asyncio.get_running_loop().create_future()
        waiters = self._waiters
        if self._committer is None or self._committer.done():
            self._committer = asyncio.get_running_loop().create_task(self._commit_rounds())
        await asyncio.shield(waiters)

    async def _commit_rounds(self) -> None:
        while self._queue:
            data, waiters = b"".join(self._queue), self._waiters
            self._queue, self._waiters = [], None
            assert waiters is not None
            try:
                async with self._lock():
                    await asyncio.to_thread(self._write, data, self.policy == "always")
            except OSError as exc:
                waiters.set_exception(WalError(f"write-ahead log write failed: {exc}"))
                continue
            self.groups += 1
            waiters.set_result(None)

    def _lock(self) -> asyncio.Lock:
        # Writes and the segment switch must not overlap: they share the file descriptor.
        if self._io_lock is None:
            raise WalError("write-ahead log is not open")
        return self._io_lock

    def _write(self, data: bytes, sync: bool) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)
        if sync:
            os.fdatasync(self._fd)

    async def sync(self) -> None:
        """Wait until everything appended so far is committed."""
        while self._committer is not None and not self._committer.done():
            await asyncio.shield(self._committer)

    async def _fsync_every(self) -> None:
        while True:
            await asyncio.sleep(self.fsync_interval)
            fd = self._fd
            with contextlib.suppress(OSError):
                await asyncio.to_thread(os.fdatasync, fd)

    # --- rotation and truncation -------------------------------------------------------

    async def rotate(self) -> int:
        """Seal the current segment; returns its number. Records appended later go after it.

        Must not be interleaved with another rotate (the TSDB's maintenance worker is the
        only caller).
        """
        async with self._lock():
            sealed = self.segment
            await asyncio.to_thread(self._open_segment, sealed + 1)
        return sealed

    @property
    def size(self) -> int:
        """Bytes written to the current segment."""
        return self._size

    def rotate_if_large(self) -> bool:
        return self._size >= self.segment_bytes

    async def truncate(self, upto: int) -> None:
        """Delete sealed segments numbered `upto` and below (their samples are in chunks)."""

        def remove() -> None:
            for path in self.segments():
                if _segment_number(path) <= upto and _segment_number(path) != self.segment:
                    path.unlink(missing_ok=True)
            _fsync_dir(self.directory)

        await asyncio.to_thread(remove)

    async def close(self) -> None:
        await self.sync()
        if self._fsyncer is not None:
            self._fsyncer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fsyncer
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            await asyncio.to_thread(os.fsync, fd)
            os.close(fd)
