"""The PromQL functions of Prometheus 2.42 and the type each returns.

The parser knows a newer, larger set; a name missing here is refused as Prometheus 2.42
would refuse it. `holt_winters` (renamed in Prometheus 3) is registered with the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import promql_parser as pp

Returns = Literal["scalar", "vector"]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    returns: Returns = "vector"


_VECTOR_FUNCTIONS = [
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_sum",
    "holt_winters",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "timestamp",
    "vector",
    "year",
]

FUNCTIONS: dict[str, FunctionSpec] = {
    **{name: FunctionSpec(name) for name in _VECTOR_FUNCTIONS},
    **{name: FunctionSpec(name, "scalar") for name in ("pi", "scalar", "time")},
}


def _register_holt_winters() -> None:
    matrix, scalar = pp.ValueType.Matrix, pp.ValueType.Scalar
    spec = pp.Function("holt_winters", [matrix, scalar, scalar], pp.ValueType.Vector)
    pp.register_extra_functions([spec])


_register_holt_winters()
