"""Compaction into one chunk per series per block, rollups, and retention."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select

from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.tsdb.rollups import BUCKET_MS
from opsplane.server.metrics.tsdb.samples import now_ms
from opsplane.server.metrics.tsdb.store import CHUNKS, ROLLUPS
from tests.server.metrics.tsdb.conftest import OpenTSDB, points, series

HOUR = 3_600_000
UP = [LabelMatcher("__name__", "=", "up")]


def chunk_levels(tsdb: object) -> list[tuple[int, int]]:
    store = tsdb.store  # type: ignore[attr-defined]
    query = select(CHUNKS.c.level, func.count()).group_by(CHUNKS.c.level).order_by(CHUNKS.c.level)
    with store.engine.connect() as conn:
        return [(level, count) for level, count in conn.execute(query)]


async def test_blocks_compact_to_one_chunk_and_get_rollups(open_tsdb: OpenTSDB) -> None:
    tsdb = await open_tsdb(block_ms=2 * HOUR, flush_seconds=60)
    now = now_ms()
    day_ago = now - 24 * HOUR
    start = day_ago - day_ago % (2 * HOUR)  # a closed block
    written = [(start + i * 60_000, float(i)) for i in range(120)]  # 2 h of 1-minute samples
    for part in range(4):  # four flushes: four level-0 chunks per series
        await tsdb.append([series({"__name__": "up", "job": "a"}, written[part::4])])
        await tsdb.maintenance.flush()
    await tsdb.append([series({"__name__": "up", "job": "a"}, [written[5]])])  # a duplicate
    await tsdb.maintenance.flush()
    assert chunk_levels(tsdb) == [(0, 5)]
    await tsdb.maintenance.compact(now)
    assert chunk_levels(tsdb) == [(1, 1)]
    tsdb.head.persisted.clear()
    tsdb.head.covered_from = 2**62
    [found] = await tsdb.select(UP, start, start + 2 * HOUR)
    assert points(found) == written
    [(labels, rollup)] = await tsdb.rollups(UP, start, start + 2 * HOUR)
    assert labels["job"] == "a"
    assert len(rollup) == 24
    assert rollup.count.tolist() == [5] * 24
    assert rollup.minimum[:2].tolist() == [0.0, 5.0]
    assert rollup.maximum[:2].tolist() == [4.0, 9.0]
    assert np.allclose(rollup.average[:2], [2.0, 7.0])
    assert rollup.starts[1] - rollup.starts[0] == BUCKET_MS
    # A late sample for the compacted block is merged in by the next compaction.
    await tsdb.append([series({"__name__": "up", "job": "a"}, [(start + 30_000, -1.0)])])
    await tsdb.maintenance.flush()
    await tsdb.maintenance.compact(now)
    assert chunk_levels(tsdb) == [(1, 1)]
    [(_, rollup)] = await tsdb.rollups(UP, start, start + 2 * HOUR)
    assert rollup.minimum[0] == -1.0
    assert rollup.count[0] == 6


async def test_retention_drops_raw_then_rollups_then_series(open_tsdb: OpenTSDB) -> None:
    tsdb = await open_tsdb(
        block_ms=2 * HOUR, raw_retention_ms=3 * 24 * HOUR, rollup_retention_ms=10 * 24 * HOUR
    )
    now = now_ms()
    old = now - 5 * 24 * HOUR
    ancient = now - 20 * 24 * HOUR
    await tsdb.append(
        [
            series({"__name__": "up", "age": "old"}, [(old, 1.0)]),
            series({"__name__": "up", "age": "ancient"}, [(ancient, 1.0)]),
            series({"__name__": "up", "age": "new"}, [(now - 1000, 1.0)]),
        ]
    )
    await tsdb.maintenance.flush()
    await tsdb.maintenance.compact(now)
    store = tsdb.store
    assert store is not None
    with store.engine.connect() as conn:
        rollup_rows = conn.execute(select(func.count()).select_from(ROLLUPS)).scalar()
    assert rollup_rows == 1  # "old": raw gone, rollup kept; "ancient": both gone
    assert await tsdb.label_values("age", [], 0, 2**62) == ["new", "old"]
    assert [r[0]["age"] for r in await tsdb.rollups(UP, 0, 2**62)] == ["old"]
    tsdb.head.persisted.clear()
    tsdb.head.covered_from = 2**62
    found = await tsdb.select(UP, 0, 2**62)
    assert [s.labels["age"] for s in found] == ["new"]  # "old" has only its rollup left
