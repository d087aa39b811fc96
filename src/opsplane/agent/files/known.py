"""What the agent knows about each watched file, kept in the state dir across restarts.

One row per file key (path + inode + mtime). A file's life:

    announced -> uploading -> uploaded -> done        (done: the after-upload action ran)
             \\-> failed | missing                    (reupload puts it back to announced)

`output` marks files the agent wrote itself (compressed dumps), so the watcher never
announces them. Files still settling (size changing, held open) are not stored: after a
restart their stability has to be observed again anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import msgspec

from opsplane.agent.state import StateError
from opsplane.protocol.files import AfterUpload

FileState = Literal["announced", "uploading", "uploaded", "done", "failed", "missing", "output"]
# Work left to do after a restart.
UNFINISHED: Final = ("announced", "uploading", "uploaded")
TERMINAL: Final = ("done", "failed", "missing", "output")
_R = TypeVar("_R")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY, path TEXT NOT NULL, rule_id TEXT, size INTEGER NOT NULL,
    inode INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, app TEXT, namespace TEXT,
    metadata TEXT NOT NULL, after_upload TEXT NOT NULL, state TEXT NOT NULL, upload_id TEXT,
    offset INTEGER NOT NULL, sha256 TEXT, error TEXT, created_at REAL NOT NULL,
    updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS files_state ON files (state);
CREATE INDEX IF NOT EXISTS files_path ON files (path);
"""
_UPSERT: Final = """
INSERT OR REPLACE INTO files (key, path, rule_id, size, inode, mtime_ns, app, namespace,
    metadata, after_upload, state, upload_id, offset, sha256, error, created_at, updated_at)
VALUES (:key, :path, :rule_id, :size, :inode, :mtime_ns, :app, :namespace, :metadata,
    :after_upload, :state, :upload_id, :offset, :sha256, :error, :created_at, :updated_at)
"""


def file_key(path: str, inode: int, mtime_ns: int) -> str:
    """The node-side id of a file: stable across agent restarts, new when the file is rewritten."""
    return hashlib.sha256(f"{path}\0{inode}\0{mtime_ns}".encode()).hexdigest()[:32]


class FileRecord(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    path: str
    size: int
    inode: int
    mtime_ns: int
    state: FileState
    rule_id: str | None = None
    app: str | None = None
    namespace: str | None = None
    metadata: dict[str, str] = msgspec.field(default_factory=dict)
    after_upload: AfterUpload = "keep"
    upload_id: str | None = None
    offset: int = 0
    sha256: str | None = None
    error: str | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


class KnownFiles:
    """The per-file table on one SQLite file; every call runs on one dedicated thread.

    Args:
        path: SQLite database file (created if missing).
        clock: Unix time source for the timestamps.
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsplane-files")
        self._conn: sqlite3.Connection | None = None

    async def open(self) -> KnownFiles:
        """Open (or create) the table.

        Raises:
            StateError: The file is not a usable SQLite database; the message says what to do.
        """
        try:
            await self._run(self._connect)
        except sqlite3.DatabaseError as exc:
            self._executor.shutdown(wait=False)
            raise StateError(
                f"{self.path} is unusable ({exc}): move it away to start over"
                " (files on disk would then be announced and uploaded again)"
            ) from exc
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._run(self._db().close)
        self._executor.shutdown(wait=True)

    async def get(self, key: str) -> FileRecord | None:
        return await self._run(lambda: self._get(key))

    async def latest_for_path(self, path: str) -> FileRecord | None:
        sql = "SELECT * FROM files WHERE path = ? ORDER BY created_at DESC LIMIT 1"
        rows = await self._select(sql, (path,))
        return rows[0] if rows else None

    async def unfinished(self) -> list[FileRecord]:
        sql = "SELECT * FROM files WHERE state IN (?, ?, ?) ORDER BY created_at"
        return await self._select(sql, UNFINISHED)

    async def known(self, keys: Iterable[str]) -> set[str]:
        """Which of `keys` the table holds, in any state."""
        wanted = list(keys)

        def query() -> set[str]:
            sql = "SELECT 1 FROM files WHERE key = ?"
            return {key for key in wanted if self._db().execute(sql, (key,)).fetchone()}

        return await self._run(query) if wanted else set()

    async def put(self, record: FileRecord) -> FileRecord:
        """Insert or replace the whole row; stamps `updated_at` (and `created_at` when new)."""
        now = self._clock()
        record = msgspec.structs.replace(
            record, created_at=record.created_at or now, updated_at=now
        )
        await self._run(lambda: self._upsert(record))
        return record

    async def update(self, key: str, **fields: Any) -> FileRecord | None:
        """Change some fields of one file (state, upload_id, offset, sha256, error)."""

        def update() -> FileRecord | None:
            record = self._get(key)
            if record is None:
                return None
            record = msgspec.structs.replace(record, **fields, updated_at=self._clock())
            self._upsert(record)
            return record

        return await self._run(update)

    async def forget_terminal(
        self, *, older_than: float, gone: Callable[[FileRecord], bool]
    ) -> int:
        """Delete finished rows not touched for `older_than` seconds whose file is `gone`.

        A finished file still on disk keeps its row, or the watcher would announce it again.
        """
        cutoff = self._clock() - older_than
        sql = "SELECT * FROM files WHERE state IN (?, ?, ?, ?) AND updated_at < ?"
        old = await self._select(sql, (*TERMINAL, cutoff))

        def delete() -> int:
            doomed = [(record.key,) for record in old if gone(record)]
            with self._db():
                self._db().executemany("DELETE FROM files WHERE key = ?", doomed)
            return len(doomed)

        return await self._run(delete)

    # Internals (on the dedicated thread) ---------------------------------------------------

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL survives a process crash (what matters for an agent).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        self._conn = conn

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("KnownFiles used before open()")
        return self._conn

    def _get(self, key: str) -> FileRecord | None:
        row = self._db().execute("SELECT * FROM files WHERE key = ?", (key,)).fetchone()
        return None if row is None else _from_row(row)

    def _upsert(self, record: FileRecord) -> None:
        with self._db():
            self._db().execute(_UPSERT, _to_row(record))

    async def _select(self, sql: str, params: Iterable[Any]) -> list[FileRecord]:
        rows = await self._run(lambda: self._db().execute(sql, tuple(params)).fetchall())
        return [_from_row(row) for row in rows]

    async def _run(self, fn: Callable[[], _R]) -> _R:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)


def _to_row(record: FileRecord) -> dict[str, Any]:
    row = msgspec.structs.asdict(record)
    row["metadata"] = msgspec.json.encode(record.metadata).decode()
    return row


def _from_row(row: sqlite3.Row) -> FileRecord:
    values = dict(zip(row.keys(), row, strict=True))
    values["metadata"] = msgspec.json.decode(values["metadata"])
    return msgspec.convert(values, FileRecord)
