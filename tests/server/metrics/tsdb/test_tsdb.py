"""The TSDB on SQLite and PostgreSQL: head, flush to chunks, WAL replay, dedupe, late data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from opsplane.server.metrics.model import STALE_NAN, STALE_NAN_BITS, LabelMatcher
from opsplane.server.metrics.tsdb.samples import now_ms
from tests.server.metrics.tsdb.conftest import OpenTSDB, points, series

UP = [LabelMatcher("__name__", "=", "up")]


def drop_head_cache(tsdb: object) -> None:
    """Make every read go to the chunks (as after the window has passed)."""
    head = tsdb.head  # type: ignore[attr-defined]
    head.persisted.clear()
    head.covered_from = 2**62


async def test_select_reads_head_then_chunks_identically(open_tsdb: OpenTSDB) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    written = [(now - 60_000 + i * 1000, float(i)) for i in range(60)]
    written[30] = (written[30][0], STALE_NAN)
    await tsdb.append(
        [
            series({"__name__": "up", "job": "a"}, written),
            series({"__name__": "up", "job": "b"}, written[:5]),
        ]
    )
    before = await tsdb.select([*UP, LabelMatcher("job", "=", "a")], now - 120_000, now)
    await tsdb.maintenance.flush()
    drop_head_cache(tsdb)
    after = await tsdb.select([*UP, LabelMatcher("job", "=", "a")], now - 120_000, now)
    for found in (before, after):
        assert len(found) == 1
        assert found[0].labels == {"__name__": "up", "job": "a"}
        assert found[0].timestamps.tolist() == [ts for ts, _ in written]
        assert int(found[0].values[30:31].view(np.uint64)[0]) == STALE_NAN_BITS
    narrow = await tsdb.select(UP, now - 60_000 + 10_000, now - 60_000 + 12_000)
    assert sorted(len(s.timestamps) for s in narrow) == [3]


async def test_wal_replay_restores_unflushed_samples(open_tsdb: OpenTSDB) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    await tsdb.append([series({"__name__": "up", "job": "a"}, [(now - 1000, 1.0), (now, 2.0)])])
    tsdb.wal._fd, fd = -1, tsdb.wal._fd  # type: ignore[union-attr]
    import os

    os.close(fd)  # a crash: no flush, no clean close
    again = await open_tsdb()
    [found] = await again.select(UP, now - 5000, now)
    assert points(found) == [(now - 1000, 1.0), (now, 2.0)]
    assert (await again.series([UP], now - 5000, now)) == [{"__name__": "up", "job": "a"}]
    # New series get fresh ids after the replayed ones.
    await again.append([series({"__name__": "up", "job": "b"}, [(now, 3.0)])])
    assert len(await again.select(UP, now - 5000, now)) == 2


async def test_replaying_already_flushed_samples_does_not_duplicate(
    open_tsdb: OpenTSDB, tmp_path: Path
) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    await tsdb.append([series({"__name__": "up"}, [(now - 2000, 1.0), (now - 1000, 2.0)])])
    wal_dir = tsdb.config.directory / "wal"  # type: ignore[operator]
    saved = tmp_path / "saved-wal"
    shutil.copytree(wal_dir, saved)
    await tsdb.maintenance.flush()  # chunks written, WAL truncated...
    await tsdb.close()
    shutil.rmtree(wal_dir)
    shutil.copytree(saved, wal_dir)  # ...but as if the crash came before the truncation
    again = await open_tsdb()
    await again.maintenance.flush()
    drop_head_cache(again)
    [found] = await again.select(UP, now - 5000, now)
    assert points(found) == [(now - 2000, 1.0), (now - 1000, 2.0)]


async def test_duplicates_keep_the_first_and_late_samples_are_accepted(
    open_tsdb: OpenTSDB,
) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    labels = {"__name__": "up"}
    await tsdb.append([series(labels, [(now - 3000, 1.0), (now - 1000, 3.0)])])
    await tsdb.maintenance.flush()
    await tsdb.append([series(labels, [(now - 1000, 99.0), (now - 2000, 2.0), (now, 4.0)])])
    await tsdb.append([series(labels, [(now, 4.0)])])  # an agent resending after a reconnect
    expected = [(now - 3000, 1.0), (now - 2000, 2.0), (now - 1000, 3.0), (now, 4.0)]
    [found] = await tsdb.select(UP, now - 10_000, now)
    assert points(found) == expected
    await tsdb.maintenance.flush()
    drop_head_cache(tsdb)
    [found] = await tsdb.select(UP, now - 10_000, now)
    assert points(found) == expected


async def test_restart_after_a_clean_stop_keeps_the_window_in_memory(
    open_tsdb: OpenTSDB,
) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    await tsdb.append([series({"__name__": "up"}, [(now - 1000, 1.0)])])
    await tsdb.stop()
    again = await open_tsdb()
    assert again.head.covered_from <= now - 1000
    pieces = again.head.read(list(again.registry.ids()), now - 5000, now)
    assert [p.values.tolist() for group in pieces.values() for p in group] == [[1.0]]
    assert list((again.config.directory / "wal").glob("*.wal"))  # type: ignore[operator]


async def test_label_names_values_and_series_respect_matchers_and_time(
    open_tsdb: OpenTSDB,
) -> None:
    tsdb = await open_tsdb()
    now = now_ms()
    await tsdb.append(
        [
            series({"__name__": "up", "job": "api", "env": "prod"}, [(now - 100_000, 1.0)]),
            series({"__name__": "up", "job": "db"}, [(now, 1.0)]),
            series({"__name__": "load", "host": "h1"}, [(now, 0.5)]),
        ]
    )
    everything = (now - 200_000, now)
    assert await tsdb.label_names([], *everything) == ["__name__", "env", "host", "job"]
    assert await tsdb.label_names([], now - 1000, now) == ["__name__", "host", "job"]
    assert await tsdb.label_names([UP], *everything) == ["__name__", "env", "job"]
    assert await tsdb.label_values("job", [], *everything) == ["api", "db"]
    assert await tsdb.label_values("job", [], now - 1000, now) == ["db"]
    assert await tsdb.label_values("__name__", [], *everything) == ["load", "up"]
    found = await tsdb.series([[LabelMatcher("host", "=~", "h.*")], UP], *everything)
    assert sorted(s["__name__"] for s in found) == ["load", "up", "up"]
