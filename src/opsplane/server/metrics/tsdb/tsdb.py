"""The embedded TSDB: registry + head + WAL + chunk store, behind `append` and `Queryable`.

Write path (`commit`): resolve series ids, append to the head (visible to queries at once),
then wait for the WAL group commit; only then does the caller ack. Read path: the head for
the recent window, chunks in the database for older data, merged per series.
Background work (sorting, flushing, compaction, retention) is in `maintenance.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import structlog

from opsplane.server.metrics.model import LabelMatcher, QueryBackend
from opsplane.server.metrics.remote_write import TimeSeries
from opsplane.server.metrics.tsdb import records
from opsplane.server.metrics.tsdb.config import TSDBConfig
from opsplane.server.metrics.tsdb.head import Head
from opsplane.server.metrics.tsdb.maintenance import Maintenance
from opsplane.server.metrics.tsdb.queryable import QueryableMixin
from opsplane.server.metrics.tsdb.registry import SeriesRegistry
from opsplane.server.metrics.tsdb.remote_ingest import RemoteWriteIngest
from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array, now_ms
from opsplane.server.metrics.tsdb.segments import SortedSegment
from opsplane.server.metrics.tsdb.store import ChunkStore
from opsplane.server.metrics.tsdb.wal import WriteAheadLog
from opsplane.server.metrics.tsdb.wire import warm_up

log = structlog.get_logger(__name__)


class TSDB(QueryableMixin):
    query_backend: QueryBackend | None = None
    """Set when queries must bypass the local PromQL engine (the remote backend)."""

    def __init__(self, config: TSDBConfig) -> None:
        self.config = config
        self.registry = SeriesRegistry()
        self.head = Head(buffer_size=config.buffer_size)
        self.store = ChunkStore(config.database_url) if config.database_url else None
        self.wal = (
            WriteAheadLog(
                config.directory / "wal",
                fsync=config.wal_fsync,
                fsync_interval=config.wal_fsync_interval,
            )
            if config.directory
            else None
        )
        # Series created but whose WAL record is not committed yet (re-logged on failure).
        self._unlogged: list[tuple[int, dict[str, str]]] = []
        self._background: set[asyncio.Task[None]] = set()
        self.samples_appended = 0
        self.maintenance = Maintenance(self)
        self.remote_writes = RemoteWriteIngest(self)
        self._worker: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------

    async def open(self) -> None:
        """Load series and the recent window from the database, then replay the WAL."""
        if self.store is not None:
            await self._load_series()
        if self.wal is not None:
            wal = self.wal
            self._replay(await asyncio.to_thread(lambda: list(wal.replay())))
            self.wal.open()
        if self.store is not None:
            await self._load_window()

    async def _load_series(self) -> None:
        assert self.store is not None
        rows = await asyncio.to_thread(self.store.load_series)
        stats = self.registry.stats
        for series_id, labels, _first, _last in rows:
            self.registry.add(series_id, labels, persisted=True)
        stats.ensure(self.registry.next_id)
        for series_id, _labels, first, last in rows:
            stats.first_ts[series_id], stats.last_ts[series_id] = first, last
        for series_id, low, high in await asyncio.to_thread(self.store.level0_ranges):
            if series_id in self.registry:
                stats.first_ts[series_id] = min(int(stats.first_ts[series_id]), low)
                stats.last_ts[series_id] = max(int(stats.last_ts[series_id]), high)

    def _replay(self, payloads: list[bytes]) -> None:
        samples = 0
        known = self._known_mask()
        for payload in payloads:
            record = records.decode(payload)
            if isinstance(record, records.SeriesRecord):
                for series_id, labels in record.series:
                    self.registry.add(series_id, labels, persisted=False)
                known = _grown(known, self.registry.next_id)
                known[[series_id for series_id, _ in record.series]] = True
                continue
            ids = record.ids
            valid = (ids >= 0) & (ids < len(known))
            valid[valid] = known[ids[valid]]
            if not valid.all():
                log.warning("wal: samples of unknown series dropped", count=int((~valid).sum()))
            ids, ts, values = ids[valid], record.timestamps[valid], record.values[valid]
            self.head.append(ids, ts, values)
            self.registry.stats.observe(ids, ts, values)
            samples += len(ids)
        if payloads:
            log.info("wal replayed", records=len(payloads), samples=samples)

    def _known_mask(self) -> npt.NDArray[np.bool_]:
        mask = np.zeros(self.registry.next_id, dtype=bool)
        mask[np.fromiter(self.registry.ids(), dtype=np.int64)] = True
        return mask

    async def _load_window(self) -> None:
        """Read the last window of chunks into the head, so the fleet pages survive a restart."""
        assert self.store is not None
        cutoff = now_ms() - self.config.head_window_ms
        ids = self.registry.in_range(self.registry.ids(), cutoff, 2**62)
        pieces = await asyncio.to_thread(self.store.read, ids, cutoff, 2**62)
        parts = [(sid, p) for sid, group in pieces.items() for p in group]
        if parts:
            segment = await asyncio.to_thread(
                SortedSegment.build,
                np.concatenate([np.full(len(p), sid, dtype=np.int64) for sid, p in parts]),
                np.concatenate([p.timestamps for _, p in parts]),
                np.concatenate([p.values for _, p in parts]),
            )
            self.head.persisted.append(segment)
        self.head.covered_from = cutoff

    async def start(self) -> list[asyncio.Task[None]]:
        """Open, then run the maintenance worker; returns the server's tasks to cancel."""
        await self.open()
        await asyncio.to_thread(warm_up)
        self._worker = asyncio.get_running_loop().create_task(
            self.maintenance.run(), name="tsdb-maintenance"
        )
        return []

    async def stop(self) -> None:
        """Stop the worker, flush the head into chunks (a short WAL next start), close."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        try:
            await self.maintenance.flush()
        finally:
            await self.close()

    async def close(self) -> None:
        for task in list(self._background):
            await task
        if self.wal is not None:
            await self.wal.close()
        if self.store is not None:
            await asyncio.to_thread(self.store.dispose)

    # --- writing -----------------------------------------------------------------------

    def resolve(self, labels: Mapping[str, str]) -> int:
        series_id, created = self.registry.get_or_create(labels)
        if created:
            self._unlogged.append((series_id, self.registry.labels(series_id)))
        return series_id

    async def append(self, batch: Sequence[TimeSeries]) -> int:
        """Store remote-write style series (labels + samples); returns the sample count."""
        ids: list[int] = []
        counts: list[int] = []
        for series in batch:
            if len(series.timestamps):
                ids.append(self.resolve(series.labels))
                counts.append(len(series.timestamps))
        if not ids:
            return 0
        await self.commit(
            np.repeat(np.asarray(ids, dtype=np.int64), counts),
            np.concatenate([s.timestamps for s in batch if len(s.timestamps)]).astype(np.int64),
            np.concatenate([s.values for s in batch if len(s.values)]).astype(np.float64),
        )
        return int(sum(counts))

    async def commit(self, ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> None:
        """Make samples of resolved series visible, then durable; returns once durable."""
        if not len(ids):
            return
        new, self._unlogged = self._unlogged, []
        self.head.append(ids, timestamps, values)
        self.registry.stats.observe(ids, timestamps, values)
        self.samples_appended += len(ids)
        if self.wal is None:
            return
        payloads = [records.encode_series(new)] if new else []
        payloads.append(records.encode_samples(ids, timestamps, values))
        try:
            await self.wal.append(*payloads)
        except Exception:
            self._unlogged.extend(new)
            raise

    # --- deleting ----------------------------------------------------------------------

    def forget_series(self, ids: set[int]) -> None:
        """Drop series now (queries stop seeing them); their rows are deleted in background."""
        if not ids:
            return
        # The head keeps their samples until the window passes them: nothing reads them
        # (every read goes through the registry) and ids are never reused while it runs.
        self.registry.remove(ids)
        if self.store is not None:
            task = asyncio.get_running_loop().create_task(self._delete_rows(sorted(ids)))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _delete_rows(self, ids: list[int]) -> None:
        assert self.store is not None
        await asyncio.to_thread(self.store.delete_series, ids)

    def matching(self, matchers: Sequence[LabelMatcher]) -> set[int]:
        return self.registry.match(matchers)


def _grown(mask: npt.NDArray[np.bool_], size: int) -> npt.NDArray[np.bool_]:
    if len(mask) >= size:
        return mask
    return np.concatenate([mask, np.zeros(size - len(mask), dtype=bool)])
