"""Range-vector functions about change: rate, increase, delta, irate, idelta, deriv,
predict_linear, resets, changes, holt_winters. Semantics follow Prometheus 2.42's
`functions.go` (extrapolation, counter resets, regression around a reference time).
"""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.labels import drop_name
from opsplane.server.metrics.promql.registry import CallInput, implements
from opsplane.server.metrics.promql.values import (
    DUPLICATE_LABELSET,
    Floats,
    InstantVector,
    Ints,
    RangeVector,
)
from opsplane.server.metrics.promql.windows import Window, WindowFunction, apply_over_windows


def over_windows(
    inp: CallInput, fn: WindowFunction, *, min_samples: int = 1, keep_name: bool = False
) -> InstantVector:
    """Apply `fn` to the range argument; the other arguments are per-step scalars.

    Like Prometheus, the output drops the metric name (except where `keep_name`) and refuses
    a result in which two series end up with the same labels at any time.
    """
    matrix_index = next(i for i, a in enumerate(inp.args) if isinstance(a, RangeVector))
    rv = inp.range(matrix_index)
    params = [inp.scalar(i) for i in range(len(inp.args)) if i != matrix_index]
    labels = rv.labels if keep_name else [drop_name(ls) for ls in rv.labels]
    result = apply_over_windows(
        rv, fn, ctx=inp.ctx, eval_times=inp.times, min_samples=min_samples,
        params=params, labels=labels,
    ).compact()  # fmt: skip
    if len(set(result.labels)) != len(result.labels):
        raise QueryError(DUPLICATE_LABELSET, error_type="execution")
    return result


def counter_corrections(w: Window) -> Floats:
    """Sum of the values just before each drop inside the window (a counter reset)."""
    prev, cur = w.values[:, :-1], w.values[:, 1:]
    drops = w.pair_mask & (cur < prev)
    corrections: Floats = np.where(drops, prev, 0.0).sum(axis=1)
    return corrections


def extrapolated(w: Window, *, counter: bool, per_second: bool) -> Floats:
    """rate/increase/delta: the change over the window, extrapolated towards its edges."""
    first_v, first_t = w.values[:, 0], w.times[:, 0]
    result = w.last_value - first_v
    if counter:
        result = result + counter_corrections(w)
    to_start = (first_t - (w.ends - w.range_ms)) / 1000
    to_end = (w.ends - w.last_time) / 1000
    sampled = (w.last_time - first_t) / 1000
    average = sampled / (w.count - 1)
    if counter:
        # A counter cannot go below zero: do not extrapolate past where it would be zero.
        can_hit_zero = (result > 0) & (first_v >= 0)
        to_zero = sampled * (first_v / np.where(can_hit_zero, result, 1.0))
        to_start = np.where(can_hit_zero & (to_zero < to_start), to_zero, to_start)
    threshold = average * 1.1
    interval = sampled + np.where(to_start < threshold, to_start, average / 2)
    interval = interval + np.where(to_end < threshold, to_end, average / 2)
    result = result * (interval / sampled)
    if per_second:
        result = result / (w.range_ms / 1000)
    return result


@implements("rate")
def rate(inp: CallInput) -> InstantVector:
    return over_windows(
        inp, lambda w: extrapolated(w, counter=True, per_second=True), min_samples=2
    )


@implements("increase")
def increase(inp: CallInput) -> InstantVector:
    fn = lambda w: extrapolated(w, counter=True, per_second=False)  # noqa: E731
    return over_windows(inp, fn, min_samples=2)


@implements("delta")
def delta(inp: CallInput) -> InstantVector:
    fn = lambda w: extrapolated(w, counter=False, per_second=False)  # noqa: E731
    return over_windows(inp, fn, min_samples=2)


def _previous(w: Window) -> tuple[Floats, Ints]:
    """The second-to-last sample of each window (windows hold at least two)."""
    rows = np.arange(len(w.count))
    return w.values[rows, w.count - 2], w.times[rows, w.count - 2]


def _irate(w: Window) -> Floats:
    prev_v, prev_t = _previous(w)
    change = np.where(w.last_value < prev_v, w.last_value, w.last_value - prev_v)
    result: Floats = change / ((w.last_time - prev_t) / 1000)
    return result


def _idelta(w: Window) -> Floats:
    prev_v, _ = _previous(w)
    result: Floats = w.last_value - prev_v
    return result


implements("irate")(lambda inp: over_windows(inp, _irate, min_samples=2))
implements("idelta")(lambda inp: over_windows(inp, _idelta, min_samples=2))


def linear_regression(w: Window, intercept_times: Ints) -> tuple[Floats, Floats]:
    """Least-squares slope and intercept (at `intercept_times`) of each window, x in seconds."""
    n = w.count.astype(np.float64)
    x = np.where(w.mask, (w.times - intercept_times[:, None]) / 1e3, 0.0)
    y = w.filled(0.0)
    sum_x, sum_y = x.sum(axis=1), y.sum(axis=1)
    sum_xy, sum_x2 = (x * y).sum(axis=1), (x * x).sum(axis=1)
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    slope = cov_xy / var_x
    intercept = sum_y / n - slope * sum_x / n
    # Constant samples: slope exactly 0 (Prometheus special-cases them, Inf gives NaN).
    first = w.values[:, 0]
    constant = (~w.mask | (w.values == first[:, None])).all(axis=1)
    const_slope = np.where(np.isinf(first), np.nan, 0.0)
    const_intercept = np.where(np.isinf(first), np.nan, first)
    return (
        np.where(constant, const_slope, slope),
        np.where(constant, const_intercept, intercept),
    )


@implements("deriv")
def deriv(inp: CallInput) -> InstantVector:
    # Regress around the first sample's time to keep the x values small.
    return over_windows(inp, lambda w: linear_regression(w, w.times[:, 0])[0], min_samples=2)


def _predict(w: Window) -> Floats:
    slope, intercept = linear_regression(w, w.eval_times)
    result: Floats = intercept + slope * w.params[0]
    return result


implements("predict_linear")(lambda inp: over_windows(inp, _predict, min_samples=2))


def _resets(w: Window) -> Floats:
    drops = w.pair_mask & (w.values[:, 1:] < w.values[:, :-1])
    result: Floats = drops.sum(axis=1).astype(np.float64)
    return result


def _changes(w: Window) -> Floats:
    prev, cur = w.values[:, :-1], w.values[:, 1:]
    same = (cur == prev) | (np.isnan(cur) & np.isnan(prev))
    result: Floats = (w.pair_mask & ~same).sum(axis=1).astype(np.float64)
    return result


implements("resets")(lambda inp: over_windows(inp, _resets))
implements("changes")(lambda inp: over_windows(inp, _changes))


def _holt_winters(w: Window) -> Floats:
    sf, tf = w.params[0], w.params[1]
    if ((sf <= 0) | (sf >= 1)).any():
        bad = float(sf[(sf <= 0) | (sf >= 1)][0])
        raise QueryError(
            f"invalid smoothing factor. Expected: 0 < sf < 1, got: {bad:f}", error_type="execution"
        )
    if ((tf <= 0) | (tf >= 1)).any():
        bad = float(tf[(tf <= 0) | (tf >= 1)][0])
        raise QueryError(
            f"invalid trend factor. Expected: 0 < tf < 1, got: {bad:f}", error_type="execution"
        )
    s0 = np.zeros(len(w.count))
    s1 = w.values[:, 0].copy()
    trend = w.values[:, 1] - w.values[:, 0]
    for i in range(1, w.values.shape[1]):
        live = w.mask[:, i]
        if i > 1:
            trend = np.where(live, tf * (s1 - s0) + (1 - tf) * trend, trend)
        smoothed = sf * w.values[:, i] + (1 - sf) * (s1 + trend)
        s0, s1 = np.where(live, s1, s0), np.where(live, smoothed, s1)
    return s1


implements("holt_winters")(lambda inp: over_windows(inp, _holt_winters, min_samples=2))
