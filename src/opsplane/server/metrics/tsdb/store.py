"""The TSDB's database side: series rows, chunk rows, rollup rows.

Every method is blocking and runs in a worker thread (`asyncio.to_thread`), on a small
*synchronous* engine of its own pointed at the server's database: compression, bulk inserts
and block compaction then never hold the event loop, which serves thousands of agent links.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.pool import NullPool

from opsplane.server.metrics.models import MetricChunk, MetricRollup, MetricSeries
from opsplane.server.metrics.tsdb import chunks, rollups
from opsplane.server.metrics.tsdb.rollups import DAY_MS, Rollup
from opsplane.server.metrics.tsdb.samples import Samples, merge

_IN_BATCH = 500  # ids per `IN (...)`: well under every driver's parameter limit
_INSERT_BATCH = 2000  # rows per transaction: short locks on SQLite's single writer

SERIES: Table = MetricSeries.__table__  # type: ignore[assignment]
CHUNKS: Table = MetricChunk.__table__  # type: ignore[assignment]
ROLLUPS: Table = MetricRollup.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class ChunkRow:
    series_id: int
    block: int
    level: int
    min_ts: int
    max_ts: int
    count: int
    data: bytes

    def values(self) -> dict[str, Any]:
        return {
            "series_id": self.series_id,
            "block": self.block,
            "level": self.level,
            "min_ts": self.min_ts,
            "max_ts": self.max_ts,
            "count": self.count,
            "data": self.data,
        }


def build_chunks(series_id: int, samples: Samples, *, block_ms: int, level: int) -> list[ChunkRow]:
    """Encode sorted samples as one chunk per aligned block they touch."""
    timestamps = samples.timestamps
    blocks = timestamps - timestamps % block_ms
    cuts = [0, *(i + 1 for i in (blocks[1:] != blocks[:-1]).nonzero()[0].tolist()), len(blocks)]
    rows = []
    for lo, hi in itertools.pairwise(cuts):
        ts, values = timestamps[lo:hi], samples.values[lo:hi]
        rows.append(
            ChunkRow(
                series_id,
                int(blocks[lo]),
                level,
                int(ts[0]),
                int(ts[-1]),
                hi - lo,
                chunks.encode(ts, values),
            )
        )
    return rows


def sync_url(async_url: str) -> str:
    if async_url.startswith("sqlite+aiosqlite"):
        return "sqlite" + async_url[len("sqlite+aiosqlite") :]
    return async_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _batches(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ChunkStore:
    def __init__(self, database_url: str) -> None:
        url = sync_url(database_url)
        if url.startswith("sqlite"):
            # One short-lived connection per call: threads never share a SQLite handle.
            self.engine: Engine = create_engine(url, poolclass=NullPool)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_size=2, max_overflow=2, pool_pre_ping=True)
        self._busy = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def _use(
        self, opener: Callable[[], AbstractContextManager[Connection]]
    ) -> Iterator[Connection]:
        """A connection, counted: `dispose` waits for calls still running in worker threads
        (a cancelled `to_thread` call keeps running and would return its connection to a
        disposed pool, leaving it to be closed by the garbage collector)."""
        with self._idle:
            self._busy += 1
        try:
            with opener() as conn:
                yield conn
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def dispose(self, wait: float = 30.0) -> None:
        """Close the pool once calls in flight are done (at most `wait` seconds)."""
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=wait)
        self.engine.dispose()

    # --- series ------------------------------------------------------------------------

    def load_series(self) -> list[tuple[int, dict[str, str], int, int]]:
        query = select(SERIES.c.id, SERIES.c.labels, SERIES.c.first_ts, SERIES.c.last_ts)
        with self._use(self.engine.connect) as conn:
            return [(r.id, dict(r.labels), r.first_ts, r.last_ts) for r in conn.execute(query)]

    def level0_ranges(self) -> list[tuple[int, int, int]]:
        """(series, min ts, max ts) over chunks not compacted yet (newer than `last_ts`)."""
        query = (
            select(CHUNKS.c.series_id, func.min(CHUNKS.c.min_ts), func.max(CHUNKS.c.max_ts))
            .where(CHUNKS.c.level == 0)
            .group_by(CHUNKS.c.series_id)
        )
        with self._use(self.engine.connect) as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(query)]

    def delete_series(self, ids: Sequence[int]) -> None:
        for batch in _batches(list(ids), _IN_BATCH):
            with self._use(self.engine.begin) as conn:
                conn.execute(delete(CHUNKS).where(CHUNKS.c.series_id.in_(batch)))
                conn.execute(delete(ROLLUPS).where(ROLLUPS.c.series_id.in_(batch)))
                conn.execute(delete(SERIES).where(SERIES.c.id.in_(batch)))

    # --- flush -------------------------------------------------------------------------

    def save(self, series: Sequence[dict[str, Any]], rows: Sequence[ChunkRow]) -> None:
        """Insert new series, then chunks, in short transactions (a replay redoes them all)."""
        for batch in _batches(series, _INSERT_BATCH):
            known = self._existing_series([s["id"] for s in batch])
            fresh = [s for s in batch if s["id"] not in known]
            if fresh:
                with self._use(self.engine.begin) as conn:
                    conn.execute(insert(SERIES), fresh)
        for chunk_batch in _batches(rows, _INSERT_BATCH):
            with self._use(self.engine.begin) as conn:
                conn.execute(insert(CHUNKS), [row.values() for row in chunk_batch])

    def _existing_series(self, ids: list[int]) -> set[int]:
        with self._use(self.engine.connect) as conn:
            return set(conn.execute(select(SERIES.c.id).where(SERIES.c.id.in_(ids))).scalars())

    # --- reads -------------------------------------------------------------------------

    def read(self, ids: Iterable[int], start_ms: int, end_ms: int) -> dict[int, list[Samples]]:
        """Each series' chunk samples in [start_ms, end_ms], oldest written first."""
        out: dict[int, list[Samples]] = {}
        for batch in _batches(sorted(ids), _IN_BATCH):
            query = (
                select(CHUNKS.c.series_id, CHUNKS.c.data)
                .where(
                    CHUNKS.c.series_id.in_(batch),
                    CHUNKS.c.max_ts >= start_ms,
                    CHUNKS.c.min_ts <= end_ms,
                )
                .order_by(CHUNKS.c.id)
            )
            with self._use(self.engine.connect) as conn:
                rows = conn.execute(query).all()
            for series_id, data in rows:
                piece = chunks.decode(data).between(start_ms, end_ms)
                if len(piece):
                    out.setdefault(series_id, []).append(piece)
        return out

    def read_rollups(self, ids: Iterable[int], start_ms: int, end_ms: int) -> dict[int, Rollup]:
        out: dict[int, list[Rollup]] = {}
        for batch in _batches(sorted(ids), _IN_BATCH):
            query = (
                select(ROLLUPS.c.series_id, ROLLUPS.c.day, ROLLUPS.c.data)
                .where(
                    ROLLUPS.c.series_id.in_(batch),
                    ROLLUPS.c.day <= end_ms,
                    ROLLUPS.c.day > start_ms - DAY_MS,
                )
                .order_by(ROLLUPS.c.series_id, ROLLUPS.c.day)
            )
            with self._use(self.engine.connect) as conn:
                for series_id, day, data in conn.execute(query):
                    rollup = rollups.decode(data, day)
                    keep = (rollup.starts >= start_ms) & (rollup.starts <= end_ms)
                    out.setdefault(series_id, []).append(rollup.select(keep))
        return {sid: rollups.concat(parts) for sid, parts in out.items()}

    # --- compaction and retention ------------------------------------------------------

    def blocks_to_compact(self, before: int) -> list[int]:
        """Blocks ending at or before `before` that still have level-0 chunks."""
        query = (
            select(CHUNKS.c.block)
            .where(CHUNKS.c.level == 0, CHUNKS.c.block < before)
            .distinct()
            .order_by(CHUNKS.c.block)
        )
        with self._use(self.engine.connect) as conn:
            return list(conn.execute(query).scalars())

    def series_to_compact(self, block: int) -> list[int]:
        query = (
            select(CHUNKS.c.series_id)
            .where(CHUNKS.c.block == block, CHUNKS.c.level == 0)
            .distinct()
        )
        with self._use(self.engine.connect) as conn:
            return sorted(conn.execute(query).scalars())

    def compact(self, block: int, ids: Sequence[int], *, block_ms: int) -> int:
        """Merge each series' chunks of one block into one level-1 chunk; refresh rollups."""
        with self._use(self.engine.begin) as conn:
            rows = conn.execute(
                select(CHUNKS.c.id, CHUNKS.c.series_id, CHUNKS.c.data)
                .where(CHUNKS.c.block == block, CHUNKS.c.series_id.in_(ids))
                .order_by(CHUNKS.c.id)
            ).all()
            pieces: dict[int, list[Samples]] = {}
            for _, series_id, data in rows:
                pieces.setdefault(series_id, []).append(chunks.decode(data))
            merged = {sid: merge(parts) for sid, parts in pieces.items()}
            conn.execute(delete(CHUNKS).where(CHUNKS.c.id.in_([r[0] for r in rows])))
            fresh = [
                row.values()
                for sid, samples in merged.items()
                for row in build_chunks(sid, samples, block_ms=block_ms, level=1)
            ]
            if fresh:
                conn.execute(insert(CHUNKS), fresh)
            self._refresh_rollups(conn, block, block_ms, merged)
            self._refresh_series_times(conn, merged)
        return len(merged)

    def _refresh_rollups(
        self, conn: Any, block: int, block_ms: int, merged: dict[int, Samples]
    ) -> None:
        day = block - block % DAY_MS
        existing = {
            sid: data
            for sid, data in conn.execute(
                select(ROLLUPS.c.series_id, ROLLUPS.c.data).where(
                    ROLLUPS.c.day == day, ROLLUPS.c.series_id.in_(list(merged))
                )
            )
        }
        rows = []
        for sid, samples in merged.items():
            old = rollups.decode(existing[sid], day) if sid in existing else rollups.EMPTY_ROLLUP
            fresh = rollups.replace_range(old, rollups.compute(samples), block, block + block_ms)
            rows.append({"series_id": sid, "day": day, "data": rollups.encode(fresh, day)})
        if existing:
            conn.execute(
                delete(ROLLUPS).where(ROLLUPS.c.day == day, ROLLUPS.c.series_id.in_(list(existing)))
            )
        if rows:
            conn.execute(insert(ROLLUPS), rows)

    def _refresh_series_times(self, conn: Any, merged: dict[int, Samples]) -> None:
        params = [
            {"sid": sid, "first": int(s.timestamps[0]), "last": int(s.timestamps[-1])}
            for sid, s in merged.items()
            if len(s)
        ]
        if not params:
            return
        c = SERIES.c
        conn.execute(
            update(SERIES)
            .where(c.id == bindparam("sid"), c.last_ts < bindparam("last"))
            .values(last_ts=bindparam("last")),
            params,
        )
        conn.execute(
            update(SERIES)
            .where(c.id == bindparam("sid"), c.first_ts > bindparam("first"))
            .values(first_ts=bindparam("first")),
            params,
        )

    def apply_retention(
        self, *, raw_before: int, rollups_before: int, block_ms: int
    ) -> tuple[int, int]:
        """Delete chunks of blocks ending before `raw_before`, rollups of days before theirs."""
        with self._use(self.engine.begin) as conn:
            raw = conn.execute(delete(CHUNKS).where(CHUNKS.c.block + block_ms <= raw_before))
            old = conn.execute(delete(ROLLUPS).where(ROLLUPS.c.day + DAY_MS <= rollups_before))
        return raw.rowcount, old.rowcount
