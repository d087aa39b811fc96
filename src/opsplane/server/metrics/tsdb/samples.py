"""One series' samples as two numpy columns, and the merge every read path shares."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
Float64Array = npt.NDArray[np.float64]
Int32Array = npt.NDArray[np.int32]


def now_ms() -> int:
    return int(time.time() * 1000)


EMPTY_TS: Int64Array = np.empty(0, dtype=np.int64)
EMPTY_VALUES: Float64Array = np.empty(0, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Samples:
    """Timestamps (ms) and values of one series, same length."""

    timestamps: Int64Array
    values: Float64Array

    def __len__(self) -> int:
        return len(self.timestamps)

    def between(self, start_ms: int, end_ms: int) -> Samples:
        """The samples in [start_ms, end_ms] (the arrays must be sorted)."""
        lo = np.searchsorted(self.timestamps, start_ms, side="left")
        hi = np.searchsorted(self.timestamps, end_ms, side="right")
        return Samples(self.timestamps[lo:hi], self.values[lo:hi])


EMPTY = Samples(EMPTY_TS, EMPTY_VALUES)


def is_strictly_increasing(timestamps: Int64Array) -> bool:
    return bool(len(timestamps) < 2 or np.all(timestamps[1:] > timestamps[:-1]))


def merge(pieces: Sequence[Samples]) -> Samples:
    """Sorted union of pieces; on equal timestamps the earliest piece wins.

    Pieces come oldest-written first (persisted chunks, then the head), so an agent's resent
    sample never replaces the one stored first: duplicates are dropped, not double counted.
    """
    pieces = [p for p in pieces if len(p)]
    if not pieces:
        return EMPTY
    if len(pieces) == 1 and is_strictly_increasing(pieces[0].timestamps):
        return pieces[0]
    timestamps = np.concatenate([p.timestamps for p in pieces])
    values = np.concatenate([p.values for p in pieces])
    return dedupe_sorted(*sort_stable(timestamps, values))


def sort_stable(timestamps: Int64Array, values: Float64Array) -> tuple[Int64Array, Float64Array]:
    if is_strictly_increasing(timestamps):
        return timestamps, values
    order = np.argsort(timestamps, kind="stable")
    return timestamps[order], values[order]


def dedupe_sorted(timestamps: Int64Array, values: Float64Array) -> Samples:
    """Drop every sample whose timestamp equals its predecessor's (keep the first)."""
    if len(timestamps) < 2:
        return Samples(timestamps, values)
    keep = np.empty(len(timestamps), dtype=bool)
    keep[0] = True
    np.not_equal(timestamps[1:], timestamps[:-1], out=keep[1:])
    if keep.all():
        return Samples(timestamps, values)
    return Samples(timestamps[keep], values[keep])
