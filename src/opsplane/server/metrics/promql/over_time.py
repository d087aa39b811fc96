"""The `*_over_time` functions: one aggregate per series over each step's window."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.promql.functions import absent_where
from opsplane.server.metrics.promql.range_functions import over_windows
from opsplane.server.metrics.promql.registry import CallInput, implements
from opsplane.server.metrics.promql.values import Floats, InstantVector
from opsplane.server.metrics.promql.windows import Window


def _sum(w: Window) -> Floats:
    result: Floats = w.filled(0.0).sum(axis=1)
    return result


def _avg(w: Window) -> Floats:
    result: Floats = _sum(w) / w.count
    return result


def _count(w: Window) -> Floats:
    return w.count.astype(np.float64)


def _min(w: Window) -> Floats:
    # fmin skips NaN unless every sample is NaN, as Prometheus's comparison loop does.
    result: Floats = np.fmin.reduce(w.filled(np.nan), axis=1)
    return result


def _max(w: Window) -> Floats:
    result: Floats = np.fmax.reduce(w.filled(np.nan), axis=1)
    return result


def _variance(w: Window) -> Floats:
    mean = _avg(w)
    deviation = np.where(w.mask, w.values - mean[:, None], 0.0)
    result: Floats = (deviation * deviation).sum(axis=1) / w.count
    return result


def _last(w: Window) -> Floats:
    return w.last_value


def _present(w: Window) -> Floats:
    return np.ones(len(w.count))


def sort_nan_first(values: Floats, mask: np.ndarray) -> Floats:
    """Sort each row ascending with NaN first (Prometheus's order) and padding last."""
    category = np.where(mask, np.where(np.isnan(values), 0, 1), 2)
    order = np.lexsort((values, category), axis=-1)
    result: Floats = np.take_along_axis(values, order, axis=-1)
    return result


def quantile_of_rows(q: Floats, values: Floats, mask: np.ndarray, count: np.ndarray) -> Floats:
    """Prometheus's `quantile`: linear interpolation between the closest ranks."""
    ordered = sort_nan_first(values, mask)
    n = count.astype(np.float64)
    rank = q * (n - 1)
    # Out-of-range and NaN ranks are answered below; keep the indexes valid meanwhile.
    lower = np.clip(np.floor(np.nan_to_num(rank)), 0, np.maximum(n - 1, 0))
    upper = np.minimum(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    rows = np.arange(len(n))
    low_v = ordered[rows, lower.astype(np.intp)]
    high_v = ordered[rows, upper.astype(np.intp)]
    result = low_v * (1 - weight) + high_v * weight
    result = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))
    out: Floats = np.where(np.isnan(q), np.nan, result)
    return out


def _quantile(w: Window) -> Floats:
    return quantile_of_rows(w.params[0], w.values, w.mask, w.count)


_SIMPLE = {
    "sum_over_time": _sum,
    "avg_over_time": _avg,
    "count_over_time": _count,
    "min_over_time": _min,
    "max_over_time": _max,
    "stdvar_over_time": _variance,
    "stddev_over_time": lambda w: np.sqrt(_variance(w)),
    "present_over_time": _present,
    "quantile_over_time": _quantile,
}


def _simple(inp: CallInput) -> InstantVector:
    return over_windows(inp, _SIMPLE[inp.node.func])


implements(*_SIMPLE)(_simple)


@implements("last_over_time")
def last_over_time(inp: CallInput) -> InstantVector:
    # The one range function that keeps the metric name: it acts like an offset.
    return over_windows(inp, _last, keep_name=True)


@implements("absent_over_time")
def absent_over_time(inp: CallInput) -> InstantVector:
    """1 at the steps where no series has a sample in the window, labelled from the selector."""
    seen = over_windows(inp, _present, keep_name=True)
    return absent_where(np.logical_not(seen.present.any(axis=0)), inp.arg_node(0))
