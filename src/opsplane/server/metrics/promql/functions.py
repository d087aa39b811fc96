"""Instant-vector and scalar functions: math, clamping, rounding, time and date, vector,
scalar, timestamp, sort, absent. Label and histogram functions live in their own modules.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.promql.ast import (
    MatrixSelector,
    Node,
    VectorSelector,
    unwrap_parens,
)
from opsplane.server.metrics.promql.labels import EMPTY, LabelSet, drop_name, from_pairs
from opsplane.server.metrics.promql.registry import CallInput, implements
from opsplane.server.metrics.promql.values import (
    Floats,
    InstantVector,
    Mask,
    Scalar,
    merge_same_labels,
)


def map_values(vector: InstantVector, fn: Callable[[Floats], Floats]) -> InstantVector:
    """Apply `fn` to every sample, dropping the metric name as Prometheus's math functions do."""
    labels = [drop_name(ls) for ls in vector.labels]
    return merge_same_labels(InstantVector(labels, fn(vector.values), vector.present.copy()))


def _sgn(v: Floats) -> Floats:
    result: Floats = np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))
    return result


_MATH: dict[str, Callable[[Floats], Floats]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sgn": _sgn,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "deg": lambda v: v * 180 / math.pi,
    "rad": lambda v: v * math.pi / 180,
}


@implements(*_MATH)
def simple_math(inp: CallInput) -> InstantVector:
    return map_values(inp.vector(0), _MATH[inp.node.func])


@implements("round")
def round_(inp: CallInput) -> InstantVector:
    to_nearest = inp.scalar(1) if len(inp.args) > 1 else np.ones(len(inp.times))
    # Prometheus rounds half up, through the inverse of `to_nearest`.
    inverse = 1.0 / to_nearest
    return map_values(inp.vector(0), lambda v: np.floor(v * inverse + 0.5) / inverse)


@implements("clamp")
def clamp(inp: CallInput) -> InstantVector:
    low, high = inp.scalar(1), inp.scalar(2)
    result = map_values(inp.vector(0), lambda v: np.maximum(low, np.minimum(high, v)))
    # An empty range (max < min) yields nothing at that step.
    result.present &= ~(high < low)[None, :]
    return result.compact()


@implements("clamp_max")
def clamp_max(inp: CallInput) -> InstantVector:
    high = inp.scalar(1)
    return map_values(inp.vector(0), lambda v: np.minimum(v, high))


@implements("clamp_min")
def clamp_min(inp: CallInput) -> InstantVector:
    low = inp.scalar(1)
    return map_values(inp.vector(0), lambda v: np.maximum(v, low))


@implements("time")
def time_(inp: CallInput) -> Scalar:
    return Scalar(inp.times / 1000)


@implements("pi")
def pi(inp: CallInput) -> Scalar:
    return Scalar(np.full(len(inp.times), math.pi))


@implements("vector")
def vector(inp: CallInput) -> InstantVector:
    values = inp.scalar(0)[None, :].copy()
    return InstantVector([EMPTY], values, np.ones_like(values, dtype=bool))


@implements("scalar")
def scalar(inp: CallInput) -> Scalar:
    from opsplane.server.metrics.promql.values import scalar_of_vector

    return scalar_of_vector(inp.vector(0))


@implements("timestamp")
def timestamp(inp: CallInput) -> InstantVector:
    """The sample's own time for a plain selector, else the evaluation time."""
    vec = inp.vector(0)
    if inp.sample_times is not None:
        stamps = inp.sample_times / 1000
    else:
        stamps = np.broadcast_to(inp.times / 1000, vec.values.shape)
    return map_values(vec, lambda _: np.array(stamps, dtype=np.float64))


def _order_first_step(vec: InstantVector, descending: bool) -> InstantVector:
    """sort/sort_desc matter only for instant queries; range results are ordered by labels."""
    if vec.steps != 1 or len(vec) < 2:
        return vec
    values = vec.values[:, 0]
    key = -values if descending else values
    # NaN sorts first in both directions, as in Prometheus.
    order = np.lexsort((key, ~np.isnan(values)))
    return vec.select_rows(order)


implements("sort")(lambda inp: _order_first_step(inp.vector(0), descending=False))
implements("sort_desc")(lambda inp: _order_first_step(inp.vector(0), descending=True))


def absent_labels(node: Node) -> LabelSet:
    """Labels for absent(): the selector's equality matchers, unless a name has two matchers."""
    node = unwrap_parens(node)
    if isinstance(node, MatrixSelector):
        node = node.selector
    if not isinstance(node, VectorSelector):
        return EMPTY
    equal: dict[str, str] = {}
    dropped: set[str] = set()
    for matcher in node.matchers:
        if matcher.name == "__name__":
            continue
        if matcher.op == "=" and matcher.name not in equal:
            equal[matcher.name] = matcher.value
        else:
            dropped.add(matcher.name)
    return from_pairs((k, v) for k, v in equal.items() if k not in dropped)


@implements("absent")
def absent(inp: CallInput) -> InstantVector:
    return absent_where(np.logical_not(inp.vector(0).present.any(axis=0)), inp.arg_node(0))


def absent_where(missing: Mask, node: Node) -> InstantVector:
    """One series valued 1 at the steps in `missing`, labelled by `absent_labels(node)`."""
    values = np.ones((1, missing.shape[0]))
    return InstantVector([absent_labels(node)], values, missing[None, :]).compact()


@implements("histogram_count", "histogram_sum", "histogram_fraction")
def native_histogram_only(inp: CallInput) -> InstantVector:
    # These read native histograms, which this store does not hold: nothing matches.
    return InstantVector.empty(len(inp.times))


# --- date functions ------------------------------------------------------------------------

_DAY_S = 86_400


def _days(seconds: Floats) -> npt.NDArray[np.datetime64]:
    return np.floor_divide(seconds, _DAY_S).astype(np.int64).astype("datetime64[D]")


def _count(delta: npt.NDArray[np.timedelta64] | npt.NDArray[np.datetime64]) -> Floats:
    return delta.astype(np.int64).astype(np.float64)


def _year(s: Floats) -> Floats:
    return _count(_days(s).astype("datetime64[Y]")) + 1970


def _month(s: Floats) -> Floats:
    return _count(_days(s).astype("datetime64[M]")) % 12 + 1


def _month_start(s: Floats) -> npt.NDArray[np.datetime64]:
    return _days(s).astype("datetime64[M]").astype("datetime64[D]")


def _day_of_month(s: Floats) -> Floats:
    return _count(_days(s) - _month_start(s)) + 1


def _day_of_year(s: Floats) -> Floats:
    return _count(_days(s) - _days(s).astype("datetime64[Y]").astype("datetime64[D]")) + 1


def _days_in_month(s: Floats) -> Floats:
    next_month = (_days(s).astype("datetime64[M]") + 1).astype("datetime64[D]")
    return _count(next_month - _month_start(s))


def _day_of_week(s: Floats) -> Floats:
    result: Floats = (np.floor_divide(s, _DAY_S) + 4) % 7  # 1970-01-01 was a Thursday
    return result


def _hour(s: Floats) -> Floats:
    result: Floats = np.floor_divide(s, 3600) % 24
    return result


def _minute(s: Floats) -> Floats:
    result: Floats = np.floor_divide(s, 60) % 60
    return result


_DATE: dict[str, Callable[[Floats], Floats]] = {
    "year": _year,
    "month": _month,
    "day_of_month": _day_of_month,
    "day_of_year": _day_of_year,
    "days_in_month": _days_in_month,
    "day_of_week": _day_of_week,
    "hour": _hour,
    "minute": _minute,
}


# Go converts a float outside int64 (NaN, +-Inf, |v| >= 2**63) to the minimum int64, and
# time.Unix of that is this date (seen from Prometheus 2.42 itself).
_GO_MIN_INT64_DATE = {"year": 292277026596.0, "month": 12.0, "day_of_month": 4.0,
                      "day_of_year": 339.0, "days_in_month": 31.0, "day_of_week": 0.0,
                      "hour": 15.0, "minute": 30.0}  # fmt: skip


def _date_of(name: str, values: Floats) -> Floats:
    valid = np.isfinite(values) & (np.abs(values) < 2.0**63)
    # Go truncates the float seconds towards zero before building the time.
    seconds = np.trunc(np.where(valid, values, 0.0))
    result: Floats = np.where(valid, _DATE[name](seconds), _GO_MIN_INT64_DATE[name])
    return result


@implements(*_DATE)
def date_function(inp: CallInput) -> InstantVector:
    name = inp.node.func
    if not inp.args:
        values = _date_of(name, np.floor_divide(inp.times, 1000).astype(np.float64))[None, :]
        return InstantVector([EMPTY], values, np.ones_like(values, dtype=bool))
    return map_values(inp.vector(0), lambda v: _date_of(name, v))
