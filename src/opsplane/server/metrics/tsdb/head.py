"""The in-memory head: every sample not yet in a chunk, plus the recent persisted window.

Appends are vectorized copies into a preallocated columnar buffer (no per-sample Python).
A full buffer is sealed as an unsorted `RawSegment`; the maintenance worker sorts and
merges segments in a thread and swaps them in. `pending` segments are not persisted yet
(the WAL holds them); `persisted` segments are already in chunks and are kept so that the
fleet pages and recent queries never touch the database. `covered_from` is the timestamp
from which the head holds *all* data: older reads go to the chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array
from opsplane.server.metrics.tsdb.segments import (
    Pieces,
    RawSegment,
    Segment,
    SortedSegment,
)

DEFAULT_BUFFER = 1 << 16


class Head:
    def __init__(self, *, buffer_size: int = DEFAULT_BUFFER, covered_from: int = 0) -> None:
        self.buffer_size = buffer_size
        self._ids = np.empty(buffer_size, dtype=np.int64)
        self._ts = np.empty(buffer_size, dtype=np.int64)
        self._values = np.empty(buffer_size, dtype=np.float64)
        self._used = 0
        self.pending: list[Segment] = []
        self.persisted: list[SortedSegment] = []
        self.covered_from = covered_from

    @property
    def pending_samples(self) -> int:
        return self._used + sum(s.size for s in self.pending)

    def append(self, ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> None:
        count = len(ids)
        if count > self.buffer_size - self._used:
            self.seal()
        if count > self.buffer_size:
            self.pending.append(RawSegment(ids.copy(), timestamps.copy(), values.copy()))
            return
        end = self._used + count
        self._ids[self._used : end] = ids
        self._ts[self._used : end] = timestamps
        self._values[self._used : end] = values
        self._used = end

    def seal(self) -> None:
        """Turn the buffer's samples into a pending segment; a fresh buffer takes appends."""
        if not self._used:
            return
        used = self._used
        self.pending.append(RawSegment(self._ids[:used], self._ts[:used], self._values[:used]))
        # The sealed arrays are referenced by the segment: allocate, never overwrite them.
        self._ids = np.empty(self.buffer_size, dtype=np.int64)
        self._ts = np.empty(self.buffer_size, dtype=np.int64)
        self._values = np.empty(self.buffer_size, dtype=np.float64)
        self._used = 0

    def snapshot(self) -> list[Segment]:
        """Every segment, oldest written first, frozen: safe to read from a worker thread.

        The active buffer is included as a view of its filled part: appends only write past
        it, and sealing allocates new arrays instead of reusing these.
        """
        segments: list[Segment] = [*self.persisted, *self.pending]
        if self._used:
            used = self._used
            segments.append(RawSegment(self._ids[:used], self._ts[:used], self._values[:used]))
        return segments

    def read(self, ids: Sequence[int], start_ms: int, end_ms: int) -> Pieces:
        """Each wanted series' pieces in [start_ms, end_ms], oldest written first."""
        return read_segments(self.snapshot(), ids, start_ms, end_ms)

    # --- maintenance (the worker calls these on the event loop, around thread work) -----

    def replace_pending(self, old: Sequence[Segment], new: Segment) -> None:
        """Swap a run of pending segments for their merge, keeping write order."""
        first = next(i for i, s in enumerate(self.pending) if s is old[0])
        assert self.pending[first : first + len(old)] == list(old)
        self.pending[first : first + len(old)] = [new]

    def mark_persisted(self, flushed: Sequence[Segment], merged: SortedSegment) -> None:
        """The flushed segments are in chunks now: keep their merge for the recent window."""
        gone = {id(s) for s in flushed}
        self.pending = [s for s in self.pending if id(s) not in gone]
        if merged.size:
            self.persisted.append(merged)

    def trim(self, cutoff_ms: int) -> None:
        """Forget persisted segments entirely older than the window."""
        kept = []
        for segment in self.persisted:
            if segment.max_ts < cutoff_ms:
                self.covered_from = max(self.covered_from, segment.max_ts + 1)
            else:
                kept.append(segment)
        self.persisted = kept

    def merge_candidates(self) -> list[Segment]:
        """A newest run of pending segments worth merging, or [] (keeps O(log n) segments).

        Like Timsort's run stack: merge the suffix while a segment is no bigger than twice
        everything after it; a lone unsorted segment is sorted by itself.
        """
        if not self.pending:
            return []
        i = len(self.pending) - 1
        total = self.pending[i].size
        while i > 0 and self.pending[i - 1].size <= 2 * total:
            i -= 1
            total += self.pending[i].size
        run = self.pending[i:]
        if len(run) == 1 and isinstance(run[0], SortedSegment):
            return []
        return run


def read_segments(
    segments: Sequence[Segment], ids: Sequence[int], start_ms: int, end_ms: int
) -> Pieces:
    """Each wanted series' pieces in [start_ms, end_ms] from a snapshot, in its order."""
    pieces: Pieces = {}
    wanted = np.asarray(sorted(ids), dtype=np.int64)
    if not len(wanted):
        return pieces
    for segment in segments:
        if segment.max_ts >= start_ms:
            segment.read(wanted, start_ms, end_ms, pieces)
    return pieces
