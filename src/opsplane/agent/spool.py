"""Disk-backed store-and-forward queue, one ordered stream per telemetry kind.

Every batch the agent sends is appended here first (with a sequence number that only ever
grows) and deleted only once the server acks it, so nothing is lost while the server is
away or the agent restarts. Backed by stdlib sqlite3 in WAL mode; `Spool` is synchronous
and `AsyncSpool` runs it on one dedicated thread so the event loop never waits on disk.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

_STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_P = ParamSpec("_P")
_R = TypeVar("_R")


@dataclasses.dataclass(frozen=True, slots=True)
class SpoolRecord:
    seq: int
    count: int  # items (points, events) in the payload, to size frames without decoding
    payload: bytes


@dataclasses.dataclass(slots=True)
class _StreamState:
    last_seq: int = 0
    acked_seq: int = 0
    pending_records: int = 0
    pending_bytes: int = 0
    # Records dropped at the cap since the backlog last drained: reported as a problem.
    dropped: int = 0


class Spool:
    """Synchronous spool on one SQLite file; not thread-safe (AsyncSpool serialises calls).

    Args:
        path: SQLite database file (created if missing).
        max_bytes: Per-stream cap on pending payload bytes; past it the oldest records are
            dropped (and reported) so a months-long outage cannot fill the disk.
    """

    def __init__(self, path: Path, *, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL survives a process crash (the case that matters for an agent).
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._conn:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS streams (name TEXT PRIMARY KEY,"
                " last_seq INTEGER NOT NULL, acked_seq INTEGER NOT NULL)"
            )
            # (stream, seq) is the primary key, so appends and range reads walk one index.
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS records (stream TEXT NOT NULL, seq INTEGER NOT NULL,"
                " count INTEGER NOT NULL, payload BLOB NOT NULL, PRIMARY KEY (stream, seq))"
            )
        self._streams: dict[str, _StreamState] = {}
        for (name,) in self._conn.execute("SELECT name FROM streams").fetchall():
            self._load_stream(name)

    def append(self, stream: str, payload: bytes, count: int) -> int:
        """Store one record at the end of `stream`; returns its sequence number."""
        state = self._stream(stream)
        seq = state.last_seq + 1
        with self._conn:
            self._conn.execute(
                "INSERT INTO records (stream, seq, count, payload) VALUES (?, ?, ?, ?)",
                (stream, seq, count, payload),
            )
            self._conn.execute("UPDATE streams SET last_seq = ? WHERE name = ?", (seq, stream))
        state.last_seq = seq
        state.pending_records += 1
        state.pending_bytes += len(payload)
        if state.pending_bytes > self.max_bytes:
            self._drop_oldest(stream, state)
        return seq

    def read(
        self, stream: str, after: int, *, max_items: int, max_records: int
    ) -> list[SpoolRecord]:
        """Records with seq > `after`, in order, up to `max_items` items (at least one record)."""
        rows = self._conn.execute(
            "SELECT seq, count, payload FROM records WHERE stream = ? AND seq > ?"
            " ORDER BY seq LIMIT ?",
            (stream, after, max_records),
        )
        records: list[SpoolRecord] = []
        items = 0
        for seq, count, payload in rows:
            if records and items + count > max_items:
                break
            records.append(SpoolRecord(seq, count, payload))
            items += count
        return records

    def ack(self, stream: str, seq: int) -> int:
        """Delete every record of `stream` with seq <= `seq`; returns how many went."""
        state = self._stream(stream)
        if seq <= state.acked_seq:
            return 0
        seq = min(seq, state.last_seq)
        with self._conn:
            deleted, freed = self._conn.execute(
                "SELECT count(*), coalesce(sum(length(payload)), 0) FROM records"
                " WHERE stream = ? AND seq <= ?",
                (stream, seq),
            ).fetchone()
            self._conn.execute("DELETE FROM records WHERE stream = ? AND seq <= ?", (stream, seq))
            self._conn.execute("UPDATE streams SET acked_seq = ? WHERE name = ?", (seq, stream))
        state.acked_seq = seq
        state.pending_records -= deleted
        state.pending_bytes -= freed
        if state.pending_records == 0:
            state.dropped = 0
        return int(deleted)

    def fast_forward(self, stream: str, seq: int) -> None:
        """Never reuse a sequence the server has seen (the spool file was lost, say)."""
        state = self._stream(stream)
        if seq > state.last_seq:
            with self._conn:
                self._conn.execute("UPDATE streams SET last_seq = ? WHERE name = ?", (seq, stream))
            state.last_seq = seq

    # The three readers below never touch the database, so the loop thread may call them.
    def pending(self, stream: str) -> int:
        state = self._streams.get(stream)
        return state.pending_records if state else 0

    def last_seq(self, stream: str) -> int:
        state = self._streams.get(stream)
        return state.last_seq if state else 0

    def acked_seq(self, stream: str) -> int:
        state = self._streams.get(stream)
        return state.acked_seq if state else 0

    def problems(self) -> list[str]:
        """Human-readable trouble for the heartbeat; empty when all is well."""
        found = []
        for name, state in sorted(self._streams.items()):
            if state.dropped:
                found.append(
                    f"spool {name} full ({self.max_bytes} bytes): dropped {state.dropped}"
                    " oldest records"
                )
        return found

    def close(self) -> None:
        self._conn.close()

    def _stream(self, stream: str) -> _StreamState:
        state = self._streams.get(stream)
        if state is None:
            if not _STREAM_NAME.match(stream):
                raise ValueError(f"bad stream name {stream!r}")
            with self._conn:
                self._conn.execute(
                    "INSERT OR IGNORE INTO streams (name, last_seq, acked_seq) VALUES (?, 0, 0)",
                    (stream,),
                )
            state = self._load_stream(stream)
        return state

    def _load_stream(self, stream: str) -> _StreamState:
        last, acked = self._conn.execute(
            "SELECT last_seq, acked_seq FROM streams WHERE name = ?", (stream,)
        ).fetchone()
        records, size = self._conn.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM records WHERE stream = ?",
            (stream,),
        ).fetchone()
        state = _StreamState(last, acked, records, size)
        self._streams[stream] = state
        return state

    def _drop_oldest(self, stream: str, state: _StreamState) -> None:
        excess = state.pending_bytes - self.max_bytes
        cut, freed, dropped = 0, 0, 0
        rows = self._conn.execute(
            "SELECT seq, length(payload) FROM records WHERE stream = ? ORDER BY seq", (stream,)
        )
        for seq, size in rows:
            # Keep the newest record even if it alone exceeds the cap.
            if freed >= excess or seq == state.last_seq:
                break
            cut, freed, dropped = seq, freed + size, dropped + 1
        rows.close()
        if not dropped:
            return
        with self._conn:
            self._conn.execute("DELETE FROM records WHERE stream = ? AND seq <= ?", (stream, cut))
        state.pending_records -= dropped
        state.pending_bytes -= freed
        state.dropped += dropped


class AsyncSpool:
    """The spool for the event loop: every disk call runs on one dedicated thread.

    Listeners registered with `on_append` are called (on the loop) after each append, so the
    link's sender wakes up without polling.
    """

    def __init__(self, spool: Spool, executor: ThreadPoolExecutor) -> None:
        self.spool = spool
        self._executor = executor
        self._listeners: list[Callable[[str], None]] = []

    @classmethod
    async def open(cls, path: Path, *, max_bytes: int) -> AsyncSpool:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opsplane-spool")
        loop = asyncio.get_running_loop()
        try:
            spool = await loop.run_in_executor(executor, lambda: Spool(path, max_bytes=max_bytes))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(spool, executor)

    def on_append(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    async def append(self, stream: str, payload: bytes, count: int) -> int:
        seq = await self._run(self.spool.append, stream, payload, count)
        for listener in self._listeners:
            listener(stream)
        return seq

    async def read(
        self, stream: str, after: int, *, max_items: int, max_records: int
    ) -> list[SpoolRecord]:
        return await self._run(
            lambda: self.spool.read(stream, after, max_items=max_items, max_records=max_records)
        )

    async def ack(self, stream: str, seq: int) -> int:
        return await self._run(self.spool.ack, stream, seq)

    async def fast_forward(self, stream: str, seq: int) -> None:
        await self._run(self.spool.fast_forward, stream, seq)

    def pending(self, stream: str) -> int:
        # In-memory counter: safe to read from the loop thread without a round trip.
        return self.spool.pending(stream)

    def acked_seq(self, stream: str) -> int:
        return self.spool.acked_seq(stream)

    def problems(self) -> list[str]:
        return self.spool.problems()

    async def close(self) -> None:
        await self._run(self.spool.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[_P, _R], *args: _P.args, **kwargs: _P.kwargs) -> _R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
