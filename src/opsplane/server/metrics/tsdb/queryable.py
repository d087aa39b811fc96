"""The TSDB's read side: the `Queryable` the PromQL engine and the Prometheus API read from."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from opsplane.server.metrics.model import LabelMatcher, SeriesData
from opsplane.server.metrics.tsdb.head import read_segments
from opsplane.server.metrics.tsdb.rollups import Rollup
from opsplane.server.metrics.tsdb.samples import Samples, merge
from opsplane.server.metrics.tsdb.segments import Segment

if TYPE_CHECKING:
    from opsplane.server.metrics.tsdb.head import Head
    from opsplane.server.metrics.tsdb.registry import SeriesRegistry
    from opsplane.server.metrics.tsdb.store import ChunkStore


_INLINE_SERIES = 64  # below this a worker thread costs more than it saves


def _merged(
    segments: Sequence[Segment],
    older: dict[int, list[Samples]],
    ids: Sequence[int],
    start_ms: int,
    end_ms: int,
) -> dict[int, Samples]:
    pieces = read_segments(segments, ids, start_ms, end_ms)
    out = {}
    for series_id in ids:
        samples = merge([*older.get(series_id, []), *pieces.get(series_id, [])])
        if len(samples):
            out[series_id] = samples
    return out


class QueryableMixin:
    registry: SeriesRegistry
    head: Head
    store: ChunkStore | None

    async def read(self, ids: Sequence[int], start_ms: int, end_ms: int) -> dict[int, Samples]:
        """Merged samples in [start_ms, end_ms] per series id (head, then chunks if needed)."""
        segments = self.head.snapshot()
        older: dict[int, list[Samples]] = {}
        if self.store is not None and start_ms < self.head.covered_from and ids:
            # Only the part the head may lack; what both hold is deduplicated by `merge`.
            older = await asyncio.to_thread(
                self.store.read, ids, start_ms, min(end_ms, self.head.covered_from)
            )
        if len(ids) <= _INLINE_SERIES:
            return _merged(segments, older, ids, start_ms, end_ms)
        # Many series: slicing and merging them would hold the event loop for too long.
        return await asyncio.to_thread(_merged, segments, older, ids, start_ms, end_ms)

    async def select(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]:
        """Series matching all matchers, with samples in [start_ms, end_ms] (stale markers kept)."""
        ids = self.registry.in_range(self.registry.match(matchers), start_ms, end_ms)
        found = await self.read(ids, start_ms, end_ms)
        return [
            SeriesData(self.registry.labels(sid), s.timestamps, s.values)
            for sid, s in found.items()
            if sid in self.registry
        ]

    def _ids(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[int]:
        return self.registry.in_range(self.registry.match_any(match), start_ms, end_ms)

    def _spans_everything(self, start_ms: int, end_ms: int) -> bool:
        ids = np.fromiter(self.registry.ids(), dtype=np.int64)
        if not len(ids):
            return True
        stats = self.registry.stats
        return bool(stats.first_ts[ids].min() >= start_ms and stats.last_ts[ids].max() <= end_ms)

    async def label_names(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        if not match and self._spans_everything(start_ms, end_ms):
            return self.registry.label_names()
        names: set[str] = set()
        for series_id in self._ids(match, start_ms, end_ms):
            names.update(self.registry.labels(series_id))
        return sorted(names)

    async def label_values(
        self, name: str, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        if not match and self._spans_everything(start_ms, end_ms):
            return self.registry.label_values(name)
        values = {self.registry.labels(sid).get(name) for sid in self._ids(match, start_ms, end_ms)}
        return sorted(v for v in values if v)

    async def series(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return [dict(self.registry.labels(sid)) for sid in self._ids(match, start_ms, end_ms)]

    async def rollups(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[tuple[dict[str, str], Rollup]]:
        """5-minute min/max/sum/count of matching series, from compacted blocks only.

        Blocks are rolled up when compacted, so the newest few hours are not in here yet:
        long-range charts read these, recent data comes from `select`.
        """
        if self.store is None:
            return []
        ids = self.registry.in_range(self.registry.match(matchers), start_ms, end_ms)
        found = await asyncio.to_thread(self.store.read_rollups, ids, start_ms, end_ms)
        return [
            (dict(self.registry.labels(sid)), r)
            for sid, r in found.items()
            if sid in self.registry and len(r)
        ]
