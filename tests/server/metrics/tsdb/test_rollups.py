"""5-minute rollups: aggregates, NaNs left out, day rows that round-trip and merge."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.model import STALE_NAN
from opsplane.server.metrics.tsdb import rollups
from opsplane.server.metrics.tsdb.rollups import BUCKET_MS, DAY_MS
from opsplane.server.metrics.tsdb.samples import Samples

DAY = 1_700_000_000_000 - 1_700_000_000_000 % DAY_MS


def test_buckets_aggregate_and_skip_nans() -> None:
    ts = DAY + np.array([0, 60_000, 299_999, BUCKET_MS, BUCKET_MS + 1, 3 * BUCKET_MS])
    values = np.array([1.0, 5.0, 3.0, np.nan, STALE_NAN, 4.0])
    rollup = rollups.compute(Samples(ts.astype(np.int64), values))
    assert rollup.starts.tolist() == [DAY, DAY + 3 * BUCKET_MS]
    assert rollup.minimum.tolist() == [1.0, 4.0]
    assert rollup.maximum.tolist() == [5.0, 4.0]
    assert rollup.count.tolist() == [3, 1]
    assert rollup.average.tolist() == [3.0, 4.0]


def test_encode_decode_and_replace_a_range() -> None:
    ts = DAY + np.arange(0, DAY_MS, 60_000, dtype=np.int64)
    whole = rollups.compute(Samples(ts, np.arange(len(ts), dtype=np.float64)))
    assert len(whole) == 288
    back = rollups.decode(rollups.encode(whole, DAY), DAY)
    np.testing.assert_array_equal(back.starts, whole.starts)
    np.testing.assert_array_equal(back.total, whole.total)
    patch = rollups.compute(Samples(ts[:10], np.full(10, 100.0)))
    merged = rollups.replace_range(back, patch, DAY, DAY + 2 * BUCKET_MS)
    assert len(merged) == 288
    assert merged.maximum[:2].tolist() == [100.0, 100.0]
    assert merged.maximum[2] == whole.maximum[2]
