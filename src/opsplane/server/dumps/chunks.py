"""Disk side of resumable uploads: append a streamed chunk at an offset durably, hash a file.

Everything here blocks and runs in worker threads; a request body is written in blocks of at
most WRITE_BLOCK bytes, so an upload of any size holds about one block in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from opsplane.server.errors import DomainError

WRITE_BLOCK = 1 << 20


class ChunkTooLarge(DomainError):
    status = 413
    code = "chunk_too_large"


def _open_at(path: Path, offset: int) -> BinaryIO:
    """The part file positioned at `offset`; bytes past it (an unacknowledged write that a
    crash interrupted) are cut off first, so the file is always exactly the acked prefix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("r+b" if path.exists() else "w+b")
    f.truncate(offset)
    f.seek(offset)
    return f


def _sync_close(f: BinaryIO) -> None:
    try:
        f.flush()
        os.fsync(f.fileno())
    finally:
        f.close()


def _rollback_close(f: BinaryIO, offset: int) -> None:
    try:
        f.truncate(offset)
    finally:
        f.close()


async def receive_chunk(path: Path, offset: int, body: AsyncIterator[bytes], *, limit: int) -> int:
    """Write the streamed body at `offset` and fsync it; returns its length.

    ChunkTooLarge if the body runs past `limit` bytes; on any error the file is cut back to
    `offset`, so a failed chunk leaves nothing behind.
    """
    f = await asyncio.to_thread(_open_at, path, offset)
    written = 0
    pending = bytearray()
    try:
        async for piece in body:
            written += len(piece)
            if written > limit:
                raise ChunkTooLarge(f"chunk is larger than {limit} bytes", details={"limit": limit})
            pending += piece
            if len(pending) >= WRITE_BLOCK:
                await asyncio.to_thread(f.write, bytes(pending))
                pending.clear()
        if pending:
            await asyncio.to_thread(f.write, bytes(pending))
    except BaseException:
        await asyncio.to_thread(_rollback_close, f, offset)
        raise
    await asyncio.to_thread(_sync_close, f)
    return written


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(WRITE_BLOCK):
            digest.update(block)
    return digest.hexdigest()


async def sha256_of(path: Path) -> str:
    return await asyncio.to_thread(_sha256, path)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)


async def discard(path: Path) -> None:
    await asyncio.to_thread(_discard, path)


async def part_size(path: Path) -> int | None:
    try:
        return (await asyncio.to_thread(path.stat)).st_size
    except FileNotFoundError:
        return None
