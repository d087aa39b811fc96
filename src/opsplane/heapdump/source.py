"""Open an HPROF file as a read-only byte array: plain files are memory-mapped, gzip
dumps (``jcmd GC.heap_dump -gz=N``) are inflated chunk by chunk into a temporary file
first, because mapping needs random access."""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt

from opsplane.heapdump.errors import HeapDumpError

GZIP_MAGIC = b"\x1f\x8b"
VERSIONS = (b"JAVA PROFILE 1.0.1\x00", b"JAVA PROFILE 1.0.2\x00")
_CHUNK = 4 << 20


@dataclass
class DumpFile:
    """A mapped dump; ``buf`` stays valid until :meth:`close`."""

    path: Path
    file_bytes: int
    compressed: bool
    buf: npt.NDArray[np.uint8]
    id_size: int
    version: str
    timestamp_ms: int
    records_start: int
    _mm: mmap.mmap | None = field(default=None, repr=False)
    _tmp: Path | None = field(default=None, repr=False)

    def release(self, start: int, end: int) -> None:
        """Drop mapped pages of ``[start, end)`` from this process's resident set.

        The pages stay in the page cache; without this a 10 GB dump would count 10 GB
        towards our RSS after one sequential pass.
        """
        if self._mm is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        lo = (start // page) * page
        hi = min(end, len(self._mm))
        if hi > lo:
            self._mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    def close(self) -> None:
        self.buf = np.empty(0, dtype=np.uint8)
        if self._mm is not None:
            # numpy views may still be alive elsewhere; the map then goes with the last one
            with contextlib.suppress(BufferError):
                self._mm.close()
            self._mm = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    def __enter__(self) -> DumpFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_dump(path: str | os.PathLike[str]) -> DumpFile:
    """Map ``path`` (plain or gzip HPROF) and read its header."""
    path = Path(path)
    try:
        file_bytes = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(2)
    except OSError as e:
        raise HeapDumpError(f"cannot read {path}: {e.strerror}") from e
    tmp = _inflate(path) if magic == GZIP_MAGIC else None
    target = tmp or path
    try:
        mm, buf = _map(target)
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise
    dump = DumpFile(path, file_bytes, tmp is not None, buf, 0, "", 0, 0, mm, tmp)
    try:
        _read_header(dump)
    except BaseException:
        dump.close()
        raise
    return dump


def _map(path: Path) -> tuple[mmap.mmap | None, npt.NDArray[np.uint8]]:
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:
            raise HeapDumpError("empty file, not an HPROF heap dump", offset=0)
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    return mm, np.frombuffer(mm, dtype=np.uint8)


def _inflate(path: Path) -> Path:
    """Inflate every gzip member (jcmd writes many) into a temporary file."""
    fd, name = tempfile.mkstemp(prefix="opsplane-heapdump-", suffix=".hprof")
    tmp = Path(name)
    consumed = 0
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            dec = zlib.decompressobj(wbits=31)
            while chunk := src.read(_CHUNK):
                while chunk:
                    dst.write(dec.decompress(chunk))
                    if dec.eof:
                        consumed += len(chunk) - len(dec.unused_data)
                        chunk = dec.unused_data
                        dec = zlib.decompressobj(wbits=31)
                    else:
                        consumed += len(chunk)
                        chunk = b""
            dst.write(dec.flush())
    except zlib.error as e:
        tmp.unlink(missing_ok=True)
        raise HeapDumpError(f"corrupt gzip stream: {e}", offset=consumed) from e
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _read_header(dump: DumpFile) -> None:
    buf = dump.buf
    head = bytes(buf[:19])
    if head not in VERSIONS:
        raise HeapDumpError("not an HPROF heap dump (bad magic)", offset=0)
    if len(buf) < 31:
        raise HeapDumpError("file ends inside the HPROF header", offset=len(buf))
    id_size = int.from_bytes(bytes(buf[19:23]), "big")
    if id_size not in (4, 8):
        raise HeapDumpError(f"unsupported identifier size {id_size}", offset=19)
    dump.id_size = id_size
    dump.version = head[:-1].decode("ascii").rsplit(" ", 1)[1]
    dump.timestamp_ms = int.from_bytes(bytes(buf[23:31]), "big")
    dump.records_start = 31
