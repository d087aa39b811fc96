"""Reading stored samples: instant selectors (lookback, staleness), ranges and subqueries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from opsplane.server.metrics.model import STALE_NAN_BITS, SeriesData
from opsplane.server.metrics.promql.labels import from_mapping
from opsplane.server.metrics.promql.values import Floats, InstantVector, Ints, Mask, RangeVector


def sorted_by_labels(series: Sequence[SeriesData]) -> list[SeriesData]:
    """Prometheus's storage hands series out ordered by labels; instant results show it."""
    return sorted(series, key=lambda data: from_mapping(data.labels))


def stale_mask(values: Floats) -> Mask:
    """Which samples are staleness markers (one exact NaN bit pattern, not any NaN)."""
    bits: Mask = values.view(np.uint64) == np.uint64(STALE_NAN_BITS)
    return bits


def select_instant(
    series: Sequence[SeriesData], refs: Ints, lookback_ms: int
) -> tuple[InstantVector, Ints]:
    """Each series' latest sample in [ref - lookback, ref] per step, unless it is stale.

    Returns the vector and the (series x steps) timestamps of the samples it took, which
    `timestamp()` reports.
    """
    series = sorted_by_labels(series)
    steps = len(refs)
    values = np.zeros((len(series), steps))
    present = np.zeros((len(series), steps), dtype=bool)
    stamps = np.zeros((len(series), steps), dtype=np.int64)
    for row, data in enumerate(series):
        ts, vals = data.timestamps, data.values
        if len(ts) == 0:
            continue
        index = np.searchsorted(ts, refs, side="right") - 1
        clipped = np.maximum(index, 0)
        ok = (index >= 0) & (ts[clipped] >= refs - lookback_ms) & ~stale_mask(vals)[clipped]
        values[row] = vals[clipped]
        stamps[row] = ts[clipped]
        present[row] = ok
    labels = [from_mapping(data.labels) for data in series]
    vector = InstantVector(labels, values, present)
    keep = np.flatnonzero(present.any(axis=1))
    return vector.select_rows(keep), stamps[keep]


def select_range(series: Sequence[SeriesData], ends: Ints, range_ms: int) -> RangeVector:
    """Windows [end - range, end] over each series' samples, staleness markers dropped."""
    labels, stamps, values = [], [], []
    for data in sorted_by_labels(series):
        fresh = ~stale_mask(data.values)
        labels.append(from_mapping(data.labels))
        stamps.append(np.ascontiguousarray(data.timestamps[fresh], dtype=np.int64))
        values.append(np.ascontiguousarray(data.values[fresh], dtype=np.float64))
    return RangeVector(labels, stamps, values, ends, range_ms)


def subquery_steps(refs: Ints, range_ms: int, step_ms: int) -> Ints:
    """The inner evaluation times: multiples of the step from the first window's start."""
    first = int(refs.min()) - range_ms
    last = int(refs.max())
    # Prometheus aligns inner steps to absolute multiples of the step, not to the query.
    start = -(-first // step_ms) * step_ms
    if start > last:
        return np.zeros(0, dtype=np.int64)
    return np.arange(start, last + 1, step_ms, dtype=np.int64)


def vector_as_range(
    inner: InstantVector, inner_times: Ints, refs: Ints, range_ms: int
) -> RangeVector:
    """A subquery's inner result seen as samples, windowed per outer step."""
    stamps = [inner_times[row] for row in inner.present]
    values = [np.ascontiguousarray(inner.values[i][row]) for i, row in enumerate(inner.present)]
    return RangeVector(list(inner.labels), stamps, values, refs, range_ms)


def clip_samples(rv: RangeVector, first_ms: int, last_ms: int) -> RangeVector:
    """Keep only the samples within [first_ms, last_ms]."""
    stamps, values = [], []
    for ts, vs in zip(rv.timestamps, rv.values, strict=True):
        keep = (ts >= first_ms) & (ts <= last_ms)
        stamps.append(ts[keep])
        values.append(vs[keep])
    return RangeVector(rv.labels, stamps, values, rv.ends, rv.range_ms)
