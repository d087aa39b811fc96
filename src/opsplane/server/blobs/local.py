"""Blobs as files under `<data_dir>/blobs`: written to a temp file, fsynced, then renamed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

from opsplane.server.blobs.base import BlobNotFound, check_key


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / ".tmp"

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _temp_beside(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        return self.tmp / uuid.uuid4().hex

    def _install(self, key: str, temp: Path) -> int:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        _fsync_dir(target.parent)
        return target.stat().st_size

    def _put_file(self, key: str, source: Path) -> int:
        self.path(key)  # validate before touching anything
        temp = self._temp_beside()
        try:
            os.replace(source, temp)  # same file system: a rename, no copy
        except OSError:
            shutil.copyfile(source, temp)
            with temp.open("rb+") as f:
                os.fsync(f.fileno())
            source.unlink()
        return self._install(key, temp)

    def _put_bytes(self, key: str, data: bytes) -> int:
        self.path(key)
        temp = self._temp_beside()
        with temp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        return self._install(key, temp)

    async def put_file(self, key: str, source: Path) -> int:
        return await asyncio.to_thread(self._put_file, key, source)

    async def put_bytes(self, key: str, data: bytes) -> int:
        return await asyncio.to_thread(self._put_bytes, key, data)

    async def size(self, key: str) -> int | None:
        try:
            return (await asyncio.to_thread(self.path(key).stat)).st_size
        except FileNotFoundError:
            return None

    async def read_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path(key).read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(f"blob {key} not found") from None

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None, *, block: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        path = self.path(key)
        try:
            f = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise BlobNotFound(f"blob {key} not found") from None
        try:
            await asyncio.to_thread(f.seek, start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                data = await asyncio.to_thread(f.read, block if left is None else min(block, left))
                if not data:
                    return
                if left is not None:
                    left -= len(data)
                yield data
        finally:
            await asyncio.to_thread(f.close)

    async def local_copy(self, key: str, dest_dir: Path) -> tuple[Path, bool]:
        path = self.path(key)
        if not await asyncio.to_thread(path.exists):
            raise BlobNotFound(f"blob {key} not found")
        return path, False

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self.path(key).unlink)
