"""Immutable columns of (series id, timestamp, value): the head's building blocks.

A `RawSegment` is samples in arrival order (a sealed append buffer): reads scan it with a
vectorized mask. A `SortedSegment` is sorted by (series id, timestamp) with duplicates
removed (first arrival wins): reads binary-search it. Sorting and merging run in worker
threads; segments never change once built, so readers on the event loop need no locks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array, Samples

Pieces = dict[int, list[Samples]]


@dataclass(frozen=True, slots=True)
class RawSegment:
    ids: Int64Array
    timestamps: Int64Array
    values: Float64Array

    @property
    def size(self) -> int:
        return len(self.ids)

    @property
    def max_ts(self) -> int:
        return int(self.timestamps.max()) if self.size else np.iinfo(np.int64).min

    def read(self, wanted: Int64Array, start_ms: int, end_ms: int, into: Pieces) -> None:
        mask = np.isin(self.ids, wanted)
        mask &= self.timestamps >= start_ms
        mask &= self.timestamps <= end_ms
        if mask.any():
            _group_into(self.ids[mask], self.timestamps[mask], self.values[mask], into)

    def sorted(self) -> SortedSegment:
        return SortedSegment.build(self.ids, self.timestamps, self.values)


@dataclass(frozen=True, slots=True)
class SortedSegment:
    ids: Int64Array
    timestamps: Int64Array
    values: Float64Array
    max_ts: int

    @classmethod
    def build(cls, ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> SortedSegment:
        """Sort by (id, timestamp), stable, and drop repeated (id, timestamp) pairs."""
        order = np.lexsort((timestamps, ids))
        ids, timestamps, values = ids[order], timestamps[order], values[order]
        if len(ids) > 1:
            keep = np.empty(len(ids), dtype=bool)
            keep[0] = True
            keep[1:] = (ids[1:] != ids[:-1]) | (timestamps[1:] != timestamps[:-1])
            if not keep.all():
                ids, timestamps, values = ids[keep], timestamps[keep], values[keep]
        max_ts = int(timestamps.max()) if len(timestamps) else np.iinfo(np.int64).min
        return cls(ids, timestamps, values, max_ts)

    @property
    def size(self) -> int:
        return len(self.ids)

    def read(self, wanted: Int64Array, start_ms: int, end_ms: int, into: Pieces) -> None:
        lows = np.searchsorted(self.ids, wanted, side="left")
        highs = np.searchsorted(self.ids, wanted, side="right")
        present = np.flatnonzero(highs > lows)
        for index in present.tolist():
            lo, hi = int(lows[index]), int(highs[index])
            piece = Samples(self.timestamps[lo:hi], self.values[lo:hi]).between(start_ms, end_ms)
            if len(piece):
                into.setdefault(int(wanted[index]), []).append(piece)

    def series(self) -> Iterator[tuple[int, Samples]]:
        """Each series' samples, in id order."""
        if not len(self.ids):
            return
        starts = np.concatenate(([0], np.flatnonzero(self.ids[1:] != self.ids[:-1]) + 1))
        ends = np.append(starts[1:], len(self.ids))
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            yield int(self.ids[lo]), Samples(self.timestamps[lo:hi], self.values[lo:hi])


Segment = RawSegment | SortedSegment


def merge_segments(segments: Sequence[Segment]) -> SortedSegment:
    """One sorted segment from several, oldest first (on duplicates the oldest wins)."""
    return SortedSegment.build(
        np.concatenate([s.ids for s in segments]),
        np.concatenate([s.timestamps for s in segments]),
        np.concatenate([s.values for s in segments]),
    )


def _group_into(
    ids: Int64Array, timestamps: Int64Array, values: Float64Array, into: Pieces
) -> None:
    order = np.lexsort((timestamps, ids))
    ids, timestamps, values = ids[order], timestamps[order], values[order]
    starts = np.concatenate(([0], np.flatnonzero(ids[1:] != ids[:-1]) + 1))
    ends = np.append(starts[1:], len(ids))
    for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
        into.setdefault(int(ids[lo]), []).append(Samples(timestamps[lo:hi], values[lo:hi]))
