"""What happens to a dump once the server has confirmed it: keep, delete or compress.

Compression writes `<name>.gz` through a hidden temp file + fsync + rename, so a crash never
leaves a half-written `.gz` under a watched name, then deletes the original. The output is
recorded in the known-files table *before* it appears under its final name, so the watcher
never takes it for a new dump (`*.hprof.gz` is a default pattern). Nothing is touched if
the file at the path is no longer the one that was uploaded.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import threading
from pathlib import Path

import structlog

from opsplane.agent.files.known import FileRecord, KnownFiles, file_key
from opsplane.agent.files.scan import TEMP_SUFFIX

log = structlog.get_logger(__name__)

# Level 1 (what `jcmd GC.heap_dump -gz=1` uses): hprof shrinks ~4x and the host's CPU is
# better spent on its applications than on the last few percent.
COMPRESS_LEVEL = 1
_COPY_BUFFER = 1024 * 1024


async def apply_after_upload(record: FileRecord, known: KnownFiles) -> str | None:
    """Run the record's `after_upload` action; returns an error message, or None if it went well."""
    if record.after_upload == "keep":
        return None
    try:
        if not await asyncio.to_thread(_still_same, record):
            return f"{record.path} changed or vanished after the upload: left alone"
        if record.after_upload == "delete":
            await asyncio.to_thread(_unlink, Path(record.path))
            log.info("uploaded file deleted", path=record.path)
            return None
        return await _compress(record, known)
    except OSError as exc:
        log.warning("after-upload action failed", path=record.path, error=str(exc))
        return f"{record.after_upload} failed: {exc.strerror or exc}"


async def _compress(record: FileRecord, known: KnownFiles) -> str | None:
    source = Path(record.path)
    if source.name.endswith(".gz"):
        return None  # already compressed (jcmd -gz): keep it as it is
    target = source.with_name(source.name + ".gz")
    if await asyncio.to_thread(target.exists):
        return await _finish_interrupted(record, target, known)
    temp = source.with_name(f".{target.name}{TEMP_SUFFIX}")
    await _gzip(source, temp)
    await known.put(await asyncio.to_thread(_output_record, record, temp, target))
    await asyncio.to_thread(_install, temp, target)
    await asyncio.to_thread(_unlink, source)
    log.info("uploaded file compressed", path=record.path, to=str(target))
    return None


async def _finish_interrupted(record: FileRecord, target: Path, known: KnownFiles) -> str | None:
    """`<name>.gz` exists: ours from a run that stopped before deleting the original, or not."""
    info = await asyncio.to_thread(target.stat)
    existing = await known.get(file_key(str(target), info.st_ino, info.st_mtime_ns))
    if existing is None or existing.state != "output":
        return f"{target} already exists: {record.path} kept uncompressed"
    await asyncio.to_thread(_unlink, Path(record.path))
    return None


def _still_same(record: FileRecord) -> bool:
    try:
        info = os.stat(record.path)
    except FileNotFoundError:
        return False
    return (info.st_ino, info.st_mtime_ns) == (record.inode, record.mtime_ns)


async def _gzip(source: Path, temp: Path) -> None:
    """Compress in one worker thread that stops at its next piece when we are cancelled.

    Compressing a GB dump takes a while; a stopping agent must not wait for it (the temp
    file is simply written again next time).
    """
    stop = threading.Event()
    try:
        await asyncio.to_thread(_gzip_file, source, temp, stop)
    finally:
        stop.set()


def _gzip_file(source: Path, temp: Path, stop: threading.Event) -> None:
    mode = os.stat(source).st_mode & 0o777  # dumps are 0600: the copy must not be wider
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)  # the umask may have narrowed it, and O_TRUNC keeps an old mode
    with os.fdopen(fd, "wb") as raw, source.open("rb") as src:
        with gzip.GzipFile(
            filename=source.name, mode="wb", fileobj=raw, compresslevel=COMPRESS_LEVEL
        ) as gz:
            while piece := src.read(_COPY_BUFFER):
                if stop.is_set():
                    return
                gz.write(piece)
        raw.flush()
        os.fsync(raw.fileno())


def _output_record(record: FileRecord, temp: Path, target: Path) -> FileRecord:
    # A rename keeps inode and mtime, so the key of the final file is known in advance.
    info = temp.stat()
    return FileRecord(
        key=file_key(str(target), info.st_ino, info.st_mtime_ns),
        path=str(target),
        size=info.st_size,
        inode=info.st_ino,
        mtime_ns=info.st_mtime_ns,
        state="output",
        rule_id=record.rule_id,
        app=record.app,
        namespace=record.namespace,
        metadata=dict(record.metadata),
    )


def _install(temp: Path, target: Path) -> None:
    os.replace(temp, target)
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)
