"""The BlobStore interface: named immutable blobs, written whole, read whole or by range.

Keys are relative slash-separated paths (`dumps/12/java_pid1.hprof`). A blob appears
atomically: readers see either nothing or the complete blob, never a partial write.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from opsplane.server.errors import Invalid, NotFound

_KEY = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


class BlobNotFound(NotFound):
    code = "blob_not_found"


def check_key(key: str) -> str:
    """The key itself if it is a safe relative path (no `..`, no absolute paths), else Invalid."""
    if len(key) > 512 or not _KEY.match(key) or any(p in (".", "..") for p in key.split("/")):
        raise Invalid(f"bad blob key {key!r}", code="bad_blob_key")
    return key


class BlobStore(Protocol):
    async def put_file(self, key: str, source: Path) -> int:
        """Move (or copy) a finished local file in as `key`; returns its size."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> int: ...

    async def size(self, key: str) -> int | None:
        """The blob's size, or None when there is no such blob."""
        ...

    async def read_bytes(self, key: str) -> bytes: ...

    def read_range(
        self, key: str, start: int = 0, end: int | None = None, *, block: int = 1 << 20
    ) -> AsyncIterator[bytes]:
        """Bytes [start, end) of the blob, in blocks."""
        ...

    async def local_copy(self, key: str, dest_dir: Path) -> tuple[Path, bool]:
        """A local path holding the blob: (path, is_temporary_copy)."""
        ...

    async def delete(self, key: str) -> None: ...
