"""Evaluated values as the `data` member of Prometheus's query API responses."""

from __future__ import annotations

from typing import Any

import numpy as np

from opsplane.server.metrics.promql.format import format_time, format_value, format_values
from opsplane.server.metrics.promql.labels import to_dict
from opsplane.server.metrics.promql.values import (
    InstantVector,
    Ints,
    RangeVector,
    Scalar,
    String,
    Value,
)


def _points(times: Ints, values: np.ndarray) -> list[tuple[Any, str]]:
    stamps = [format_time(t) for t in times.tolist()]
    return list(zip(stamps, format_values(values), strict=True))


def instant_data(value: Value, time_ms: int) -> dict[str, Any]:
    """An instant query's result: vector, matrix, scalar or string."""
    stamp = format_time(time_ms)
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [stamp, format_value(float(value.values[0]))]}
    if isinstance(value, String):
        return {"resultType": "string", "result": [stamp, value.value]}
    if isinstance(value, RangeVector):
        return {"resultType": "matrix", "result": _range_series(value)}
    rows = np.flatnonzero(value.present[:, 0])
    result = [
        {
            "metric": to_dict(value.labels[i]),
            "value": [stamp, format_value(float(value.values[i, 0]))],
        }
        for i in rows.tolist()
    ]
    return {"resultType": "vector", "result": result}


def _range_series(value: RangeVector) -> list[dict[str, Any]]:
    """Raw samples of a range vector at a single step, series ordered by labels."""
    result = []
    for i in sorted(range(len(value.labels)), key=lambda i: value.labels[i]):
        lo, hi = value.window_bounds(i)
        ts, vs = value.timestamps[i][lo[0] : hi[0]], value.values[i][lo[0] : hi[0]]
        if len(ts):
            result.append({"metric": to_dict(value.labels[i]), "values": _points(ts, vs)})
    return result


def range_data(value: Value, times: Ints) -> dict[str, Any]:
    """A range query's result: always a matrix, series ordered by labels."""
    if isinstance(value, Scalar):
        return {
            "resultType": "matrix",
            "result": [{"metric": {}, "values": _points(times, value.values)}],
        }
    assert isinstance(value, InstantVector)
    # Formatted once, shared by every series.
    stamps = np.array([format_time(t) for t in times.tolist()], dtype=object)
    result = []
    for i in sorted(range(len(value.labels)), key=lambda i: value.labels[i]):
        mask = value.present[i]
        if not mask.any():
            continue
        texts = format_values(value.values[i][mask])
        points = list(zip(stamps[mask].tolist(), texts, strict=True))
        result.append({"metric": to_dict(value.labels[i]), "values": points})
    return {"resultType": "matrix", "result": result}
