"""5-minute rollups (min, max, sum, count per bucket), one compressed row per series per day.

They outlive raw chunks (their own retention) so long-range charts stay cheap. NaNs, stale
markers included, are not values and are left out of every aggregate.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array, Samples

BUCKET_MS = 5 * 60 * 1000
DAY_MS = 24 * 3600 * 1000
_HEADER = struct.Struct("<BI")
_VERSION = 1


@dataclass(frozen=True, slots=True)
class Rollup:
    """Buckets of one series, sorted by start (ms)."""

    starts: Int64Array
    minimum: Float64Array
    maximum: Float64Array
    total: Float64Array
    count: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def average(self) -> Float64Array:
        return self.total / self.count

    def select(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Rollup:
        return Rollup(
            self.starts[keep],
            self.minimum[keep],
            self.maximum[keep],
            self.total[keep],
            self.count[keep],
        )


EMPTY_ROLLUP = Rollup(
    np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
)


def compute(samples: Samples) -> Rollup:
    """Aggregate sorted samples into 5-minute buckets (vectorized with `reduceat`)."""
    real = ~np.isnan(samples.values)
    timestamps, values = samples.timestamps[real], samples.values[real]
    if not len(timestamps):
        return EMPTY_ROLLUP
    buckets = timestamps - timestamps % BUCKET_MS
    starts_at = np.concatenate(([0], np.flatnonzero(buckets[1:] != buckets[:-1]) + 1))
    counts = np.diff(np.append(starts_at, len(values)))
    return Rollup(
        buckets[starts_at],
        np.minimum.reduceat(values, starts_at),
        np.maximum.reduceat(values, starts_at),
        np.add.reduceat(values, starts_at),
        counts.astype(np.int64),
    )


def concat(parts: list[Rollup]) -> Rollup:
    """Rollups of consecutive days, in order."""
    if not parts:
        return EMPTY_ROLLUP
    return Rollup(
        np.concatenate([p.starts for p in parts]),
        np.concatenate([p.minimum for p in parts]),
        np.concatenate([p.maximum for p in parts]),
        np.concatenate([p.total for p in parts]),
        np.concatenate([p.count for p in parts]),
    )


def replace_range(old: Rollup, new: Rollup, start_ms: int, end_ms: int) -> Rollup:
    """`old` with its buckets in [start_ms, end_ms) replaced by `new`'s."""
    outside = (old.starts < start_ms) | (old.starts >= end_ms)
    kept = old.select(outside)
    both = concat([kept, new])
    return both.select(np.argsort(both.starts, kind="stable"))


def encode(rollup: Rollup, day: int) -> bytes:
    body = b"".join(
        (
            ((rollup.starts - day) // BUCKET_MS).astype("<u2").tobytes(),
            rollup.minimum.astype("<f8").tobytes(),
            rollup.maximum.astype("<f8").tobytes(),
            rollup.total.astype("<f8").tobytes(),
            rollup.count.astype("<u4").tobytes(),
        )
    )
    return _HEADER.pack(_VERSION, len(rollup)) + zlib.compress(body, 6)


def decode(blob: bytes, day: int) -> Rollup:
    version, count = _HEADER.unpack_from(blob)
    if version != _VERSION:
        raise ValueError(f"unknown rollup version {version}")
    body = zlib.decompress(blob[_HEADER.size :])
    offsets = (0, 2 * count, 10 * count, 18 * count, 26 * count, 30 * count)
    columns = [
        np.frombuffer(body[a:b], dtype=d)
        for a, b, d in zip(
            offsets[:-1], offsets[1:], ("<u2", "<f8", "<f8", "<f8", "<u4"), strict=True
        )
    ]
    return Rollup(
        day + columns[0].astype(np.int64) * BUCKET_MS,
        columns[1].astype(np.float64),
        columns[2].astype(np.float64),
        columns[3].astype(np.float64),
        columns[4].astype(np.int64),
    )
