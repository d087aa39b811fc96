"""Aggregation operators (sum, avg, min, max, count, stddev, stdvar, group, quantile,
count_values, topk, bottomk) with by/without, computed for all steps at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.ast import Aggregate
from opsplane.server.metrics.promql.format import format_value
from opsplane.server.metrics.promql.labels import (
    NAME,
    LabelSet,
    is_valid_name,
    keep,
    with_label,
    without,
)
from opsplane.server.metrics.promql.over_time import quantile_of_rows
from opsplane.server.metrics.promql.values import Floats, InstantVector, Ints

MAX_INT64 = 2.0**63


def group_key(labels: LabelSet, node: Aggregate) -> LabelSet:
    if node.without:
        return without(labels, (*node.grouping, NAME))
    return keep(labels, node.grouping)


def _groups(vec: InstantVector, node: Aggregate) -> tuple[list[LabelSet], Ints]:
    """Output labels per group (in order of first appearance) and each row's group index."""
    index: dict[LabelSet, int] = {}
    rows = np.empty(len(vec), dtype=np.int64)
    for row, labels in enumerate(vec.labels):
        rows[row] = index.setdefault(group_key(labels, node), len(index))
    return list(index), rows


def _reduce(ufunc: np.ufunc, values: npt.NDArray[Any], rows: Ints, n_groups: int) -> Any:
    """`ufunc` over the rows of each group, per step."""
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    reduced = ufunc.reduceat(values[order], starts, axis=0)
    out = np.zeros((n_groups, values.shape[1]), dtype=reduced.dtype)
    out[sorted_rows[starts]] = reduced
    return out


def _sum(vec: InstantVector, rows: Ints, n: int) -> Floats:
    result: Floats = _reduce(np.add, np.where(vec.present, vec.values, 0.0), rows, n)
    return result


def _count(vec: InstantVector, rows: Ints, n: int) -> Floats:
    result: Floats = _reduce(np.add, vec.present.astype(np.float64), rows, n)
    return result


def _variance(vec: InstantVector, rows: Ints, n: int) -> Floats:
    count = _count(vec, rows, n)
    mean = _sum(vec, rows, n) / count
    deviation = np.where(vec.present, vec.values - mean[rows], 0.0)
    result: Floats = _reduce(np.add, deviation * deviation, rows, n) / count
    # Prometheus starts a group's variance at 0 and updates it from the second sample on,
    # so a lone sample has variance 0 even when it is NaN or infinite.
    return np.where(count == 1, 0.0, result)


_SIMPLE: dict[str, Callable[[InstantVector, Ints, int], Floats]] = {
    "sum": _sum,
    "count": _count,
    "avg": lambda v, r, n: _sum(v, r, n) / _count(v, r, n),
    # fmin/fmax skip NaN unless all are NaN, like Prometheus's comparisons.
    "min": lambda v, r, n: _reduce(np.fmin, np.where(v.present, v.values, np.nan), r, n),
    "max": lambda v, r, n: _reduce(np.fmax, np.where(v.present, v.values, np.nan), r, n),
    "group": lambda v, r, n: np.ones((n, v.steps)),
    "stdvar": _variance,
    "stddev": lambda v, r, n: np.sqrt(_variance(v, r, n)),
}


def aggregate(node: Aggregate, vec: InstantVector, param: Floats | str | None) -> InstantVector:
    """Evaluate one aggregation; `param` is the per-step scalar or the count_values label."""
    steps = vec.steps
    vec = vec.compact()
    if node.op == "count_values":
        assert isinstance(param, str)
        vec = _explode_values(vec, param)
        if not node.without:
            node = replace(node, grouping=(*node.grouping, param))
    if len(vec) == 0:
        return InstantVector.empty(steps)
    if node.op in ("topk", "bottomk"):
        assert isinstance(param, np.ndarray)
        return _top(node, vec, param)
    labels, rows = _groups(vec, node)
    present = _reduce(np.logical_or, vec.present, rows, len(labels))
    if node.op == "quantile":
        assert isinstance(param, np.ndarray)
        values = _quantile(vec, rows, len(labels), param)
    else:
        op = "count" if node.op == "count_values" else node.op
        values = _SIMPLE[op](vec, rows, len(labels))
    return InstantVector(labels, values, present)


def _quantile(vec: InstantVector, rows: Ints, n_groups: int, q: Floats) -> Floats:
    out = np.zeros((n_groups, vec.steps))
    for group in range(n_groups):
        members = np.flatnonzero(rows == group)
        values, mask = vec.values[members].T, vec.present[members].T
        out[group] = quantile_of_rows(q, values, mask, mask.sum(axis=1))
    return out


def _explode_values(vec: InstantVector, label: str) -> InstantVector:
    """One series per (series, distinct value), labelled with the value, for count_values."""
    if not is_valid_name(label):
        raise QueryError(f"invalid label name {label!r}", error_type="execution")
    cells = np.argwhere(vec.present)
    if len(cells) == 0:
        return InstantVector.empty(vec.steps)
    values = vec.values[vec.present]
    distinct, which = np.unique(values, return_inverse=True)
    text = [format_value(float(v)) for v in distinct]
    out_rows: dict[tuple[int, int], int] = {}
    labels: list[LabelSet] = []
    for (row, _), value_index in zip(cells.tolist(), which.tolist(), strict=True):
        key = (row, value_index)
        if key not in out_rows:
            out_rows[key] = len(labels)
            labels.append(with_label(vec.labels[row], label, text[value_index]))
    present = np.zeros((len(labels), vec.steps), dtype=bool)
    target = [out_rows[(r, w)] for (r, _), w in zip(cells.tolist(), which.tolist(), strict=True)]
    present[target, cells[:, 1]] = True
    return InstantVector(labels, np.ones(present.shape), present)


def _top(node: Aggregate, vec: InstantVector, k_param: Floats) -> InstantVector:
    """topk/bottomk: per group and step, the k largest (smallest) samples keep their labels."""
    if np.isnan(k_param).any() or (np.abs(k_param) >= MAX_INT64).any():
        bad = k_param[np.isnan(k_param) | (np.abs(k_param) >= MAX_INT64)][0]
        raise QueryError(f"Scalar value {format_value(float(bad))} overflows int64",
                         error_type="execution")  # fmt: skip
    k = np.trunc(k_param)
    _, rows = _groups(vec, node)
    # NaN ranks last either way: topk prefers any number to NaN, and so does bottomk.
    key = np.where(np.isnan(vec.values), np.inf, -vec.values if node.op == "topk" else vec.values)
    key = np.where(vec.present, key, np.inf)
    rank = np.zeros(vec.values.shape, dtype=np.int64)
    for group in np.unique(rows):
        members = np.flatnonzero(rows == group)
        order = np.argsort(key[members], axis=0, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(len(members))[:, None], axis=0)
        rank[members] = ranks
    chosen = vec.present & (rank < k[None, :])
    result = InstantVector(list(vec.labels), vec.values, chosen).compact()
    if result.steps == 1:
        result = _order_instant_top(result, node)
    return result


def _order_instant_top(vec: InstantVector, node: Aggregate) -> InstantVector:
    """For an instant query, Prometheus lists each group's samples best first."""
    _, rows = _groups(vec, node)
    values = vec.values[:, 0]
    key = np.where(np.isnan(values), np.inf, -values if node.op == "topk" else values)
    return vec.select_rows(np.lexsort((key, rows)))
