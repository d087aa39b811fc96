"""Background work of the TSDB, one step at a time, heavy parts in worker threads.

- sort and merge the head's pending segments (keeps reads O(log n) segments);
- flush: rotate the WAL, turn every pending sample into level-0 chunks, save new series,
  then delete the WAL segments those samples came from (a crash before that replays them,
  and the duplicate chunks are deduplicated on read and by compaction);
- compact: once a block is closed, merge its chunks into one level-1 chunk per series and
  (re)compute its 5-minute rollups;
- retention: drop raw chunks and rollups past their retention, and series with no data left.

One worker runs these in sequence, so they never race each other. With several server
processes on one PostgreSQL (NATS deployments) compaction and retention should take a
PostgreSQL advisory lock to run once per cluster; today the embedded TSDB is single-process
(the scale-out deployment uses `metrics_backend = "prometheus"`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from opsplane.server.metrics.tsdb.samples import now_ms
from opsplane.server.metrics.tsdb.segments import Segment, SortedSegment, merge_segments
from opsplane.server.metrics.tsdb.store import ChunkRow, build_chunks

if TYPE_CHECKING:
    from opsplane.server.metrics.tsdb.tsdb import TSDB

log = structlog.get_logger(__name__)

TICK_SECONDS = 1.0
_COMPACT_BATCH = 1000


class Maintenance:
    def __init__(self, tsdb: TSDB) -> None:
        self.tsdb = tsdb
        self.config = tsdb.config
        self._last_flush = time.monotonic()
        self._last_compaction = 0.0
        self._lock = asyncio.Lock()

    async def run(self) -> None:
        """The worker loop (a task of the server's lifespan)."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.step()
            except Exception:
                # The WAL still holds everything: log, and try again on the next tick.
                log.exception("tsdb maintenance step failed")

    async def step(self) -> None:
        async with self._lock:
            await self._merge_pending()
            if self._flush_due():
                await self._flush()
            if (
                self.tsdb.store is not None
                and time.monotonic() - self._last_compaction >= self.config.compaction_seconds
            ):
                self._last_compaction = time.monotonic()
                await self._compact(now_ms())
                await self._retention(now_ms())

    async def flush(self) -> None:
        """Flush now (shutdown, tests)."""
        async with self._lock:
            await self._flush()

    async def compact(self, now: int | None = None) -> None:
        async with self._lock:
            await self._compact(now if now is not None else now_ms())
            await self._retention(now if now is not None else now_ms())

    def _flush_due(self) -> bool:
        head, wal = self.tsdb.head, self.tsdb.wal
        return (
            time.monotonic() - self._last_flush >= self.config.flush_seconds
            or head.pending_samples >= self.config.max_pending_samples
            or (wal is not None and wal.rotate_if_large())
        )

    async def _merge_pending(self) -> None:
        head = self.tsdb.head
        for _ in range(8):
            run = head.merge_candidates()
            if not run:
                return
            merged = await asyncio.to_thread(merge_segments if len(run) > 1 else _sorted_one, run)
            head.replace_pending(run, merged)

    # --- flush -------------------------------------------------------------------------

    async def _flush(self) -> None:
        tsdb, head = self.tsdb, self.tsdb.head
        self._last_flush = time.monotonic()
        sealed = await tsdb.wal.rotate() if tsdb.wal is not None else None
        # From here to the snapshot nothing awaits: the snapshot holds every sample whose
        # WAL record is in a sealed segment (a few later ones too: harmless duplicates).
        head.seal()
        flushed = list(head.pending)
        new_series = list(tsdb.registry.unpersisted)
        live = set(tsdb.registry.ids())
        merged, rows = await asyncio.to_thread(self._prepare, flushed, live)
        if tsdb.store is not None:
            await asyncio.to_thread(tsdb.store.save, self._series_rows(new_series), rows)
        done = set(new_series)
        tsdb.registry.unpersisted = [s for s in tsdb.registry.unpersisted if s not in done]
        head.mark_persisted(flushed, merged)
        head.trim(now_ms() - self.config.head_window_ms)
        if sealed is not None and tsdb.wal is not None:
            await tsdb.wal.truncate(sealed)
        if rows:
            log.info(
                "tsdb flushed",
                samples=merged.size,
                chunks=len(rows),
                bytes=sum(len(r.data) for r in rows),
                series=len(new_series),
            )

    def _prepare(
        self, segments: Sequence[Segment], live: set[int]
    ) -> tuple[SortedSegment, list[ChunkRow]]:
        merged = merge_segments(segments) if segments else _empty_segment()
        rows: list[ChunkRow] = []
        if self.tsdb.store is None:
            return merged, rows
        for series_id, samples in merged.series():
            if series_id in live:
                rows.extend(
                    build_chunks(series_id, samples, block_ms=self.config.block_ms, level=0)
                )
        return merged, rows

    def _series_rows(self, ids: list[int]) -> list[dict[str, Any]]:
        registry, stats = self.tsdb.registry, self.tsdb.registry.stats
        return [
            {
                "id": sid,
                "labels": registry.labels(sid),
                "first_ts": int(stats.first_ts[sid]),
                "last_ts": int(stats.last_ts[sid]),
            }
            for sid in ids
            if sid in registry
        ]

    # --- compaction and retention ------------------------------------------------------

    async def _compact(self, now: int) -> None:
        store, block_ms = self.tsdb.store, self.config.block_ms
        assert store is not None
        # A block is closed once every flush that could hold its samples has happened.
        before = now - int(self.config.flush_seconds * 1000) - block_ms
        for block in await asyncio.to_thread(store.blocks_to_compact, before):
            ids = await asyncio.to_thread(store.series_to_compact, block)
            for start in range(0, len(ids), _COMPACT_BATCH):
                batch = ids[start : start + _COMPACT_BATCH]
                await asyncio.to_thread(store.compact, block, batch, block_ms=block_ms)
            log.info("tsdb block compacted", block=block, series=len(ids))

    async def _retention(self, now: int) -> None:
        store, config = self.tsdb.store, self.config
        assert store is not None
        raw, rolled = await asyncio.to_thread(
            store.apply_retention,
            raw_before=now - config.raw_retention_ms,
            rollups_before=now - config.rollup_retention_ms,
            block_ms=config.block_ms,
        )
        if raw or rolled:
            log.info("tsdb retention", raw_chunks=raw, rollup_rows=rolled)
        # Series with no sample inside either retention are gone for good.
        cutoff = now - max(config.raw_retention_ms, config.rollup_retention_ms)
        ids = np.fromiter(self.tsdb.registry.ids(), dtype=np.int64)
        expired = ids[self.tsdb.registry.stats.last_ts[ids] < cutoff]
        if len(expired):
            self.tsdb.forget_series(set(expired.tolist()))


def _sorted_one(run: Sequence[Segment]) -> SortedSegment:
    only = run[0]
    return only if isinstance(only, SortedSegment) else only.sorted()


def _empty_segment() -> SortedSegment:
    empty = np.empty(0, dtype=np.int64)
    return SortedSegment(empty, empty, np.empty(0, dtype=np.float64), np.iinfo(np.int64).min)
