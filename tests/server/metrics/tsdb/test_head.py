"""The head: vectorized appends, sealing, merges, reads with duplicates and late samples."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.tsdb.head import Head, read_segments
from opsplane.server.metrics.tsdb.samples import merge
from opsplane.server.metrics.tsdb.segments import RawSegment, SortedSegment, merge_segments


def add(head: Head, ids: list[int], ts: list[int], values: list[float]) -> None:
    head.append(
        np.array(ids, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def series(head: Head, sid: int, start: int = 0, end: int = 10**15) -> list[tuple[int, float]]:
    samples = merge(head.read([sid], start, end).get(sid, []))
    return list(zip(samples.timestamps.tolist(), samples.values.tolist(), strict=True))


def test_reads_sort_and_keep_the_first_duplicate() -> None:
    head = Head(buffer_size=4)
    add(head, [1, 2, 1], [30, 10, 10], [3.0, 9.0, 1.0])
    add(head, [1, 1], [20, 30], [2.0, 33.0])  # 30 again: a resent sample, ignored
    add(head, [1], [5], [0.5])  # late but accepted
    assert series(head, 1) == [(5, 0.5), (10, 1.0), (20, 2.0), (30, 3.0)]
    assert series(head, 1, 10, 20) == [(10, 1.0), (20, 2.0)]
    assert series(head, 2) == [(10, 9.0)]
    assert head.read([3], 0, 100) == {}
    assert len(head.pending) >= 1
    assert head.pending_samples == 6


def test_big_batches_bypass_the_buffer() -> None:
    head = Head(buffer_size=8)
    count = 100
    head.append(
        np.zeros(count, dtype=np.int64),
        np.arange(count, dtype=np.int64),
        np.arange(count, dtype=np.float64),
    )
    assert len(series(head, 0)) == count


def test_sorted_segments_dedupe_and_merge_in_write_order() -> None:
    old = RawSegment(np.array([1, 1, 2]), np.array([10, 10, 5]), np.array([1.0, 2.0, 3.0]))
    new = RawSegment(np.array([1, 2]), np.array([10, 6]), np.array([9.0, 4.0]))
    merged = merge_segments([old, new])
    assert merged.ids.tolist() == [1, 2, 2]
    assert merged.values.tolist() == [1.0, 3.0, 4.0]
    assert [(sid, s.values.tolist()) for sid, s in merged.series()] == [(1, [1.0]), (2, [3.0, 4.0])]


def test_merge_candidates_keep_few_segments() -> None:
    head = Head(buffer_size=2)
    for i in range(64):
        add(head, [i % 3], [i], [float(i)])
        run = head.merge_candidates()
        if run:
            head.replace_pending(run, merge_segments(run))
    assert len(head.pending) <= 7
    assert all(isinstance(s, SortedSegment) for s in head.pending)
    assert len(series(head, 0)) == 22


def test_persisted_segments_trim_by_window() -> None:
    head = Head(buffer_size=16)
    add(head, [1, 1], [100, 200], [1.0, 2.0])
    head.seal()
    flushed = list(head.pending)
    head.mark_persisted(flushed, merge_segments(flushed))
    add(head, [1], [300], [3.0])
    assert head.pending_samples == 1
    assert series(head, 1) == [(100, 1.0), (200, 2.0), (300, 3.0)]
    head.trim(250)
    assert head.covered_from == 201
    assert series(head, 1) == [(300, 3.0)]


def test_snapshots_do_not_move_under_later_appends() -> None:
    head = Head(buffer_size=4)
    add(head, [1, 1], [10, 20], [1.0, 2.0])
    frozen = head.snapshot()
    add(head, [1, 1, 1], [30, 40, 50], [3.0, 4.0, 5.0])  # fills and seals the buffer
    pieces = read_segments(frozen, [1], 0, 100)
    assert [p.timestamps.tolist() for p in pieces[1]] == [[10, 20]]
    assert len(series(head, 1)) == 5
