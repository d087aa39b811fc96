"""Write-ahead log: replay, torn tails, group commit, rotation and truncation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from opsplane.server.metrics.tsdb import records
from opsplane.server.metrics.tsdb.wal import WalError, WriteAheadLog


async def test_records_survive_a_reopen(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    series = records.encode_series([(1, {"__name__": "up"})])
    samples = records.encode_samples(np.array([1, 1]), np.array([10, 20]), np.array([1.5, 2.5]))
    await wal.append(series, samples)
    await wal.close()
    replayed = [records.decode(p) for p in WriteAheadLog(tmp_path).replay()]
    assert isinstance(replayed[0], records.SeriesRecord)
    assert replayed[0].series == [(1, {"__name__": "up"})]
    assert isinstance(replayed[1], records.SamplesRecord)
    assert replayed[1].timestamps.tolist() == [10, 20]
    assert replayed[1].values.tolist() == [1.5, 2.5]


async def test_a_torn_tail_is_cut_off(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    await wal.append(b"\x02first")
    await wal.append(b"\x02second")
    await wal.close()
    segment = wal.segments()[-1]
    segment.write_bytes(segment.read_bytes()[:-3])  # a write cut short by a crash
    assert list(WriteAheadLog(tmp_path).replay()) == [b"\x02first"]
    assert list(WriteAheadLog(tmp_path).replay()) == [b"\x02first"]


async def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    await asyncio.gather(*(wal.append(b"x" * 10) for _ in range(500)))
    assert wal.groups < 50  # group commit: far fewer fsync rounds than writers
    await wal.close()
    assert len(list(WriteAheadLog(tmp_path).replay())) == 500


async def test_interval_policy_writes_before_returning(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path, fsync="interval", fsync_interval=0.05)
    wal.open()
    await wal.append(b"a")
    assert list(WriteAheadLog(tmp_path).replay()) == [b"a"]  # in the file already
    await asyncio.sleep(0.1)
    await wal.close()


async def test_rotate_then_truncate_keeps_newer_segments(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    wal.open()
    await wal.append(b"old")
    sealed = await wal.rotate()
    await wal.append(b"new")
    await wal.truncate(sealed)
    assert [p.name for p in wal.segments()] == [f"{sealed + 1:08d}.wal"]
    await wal.close()
    assert list(WriteAheadLog(tmp_path).replay()) == [b"new"]


async def test_append_before_open_fails(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    with pytest.raises(WalError):
        await wal.append(b"x")
