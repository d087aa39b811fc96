"""The tree walk: evaluates a node at an array of step times, all steps at once."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql import (  # noqa: F401 - modules register their functions
    functions,
    histograms,
    label_functions,
    over_time,
    range_functions,
)
from opsplane.server.metrics.promql.aggregations import aggregate
from opsplane.server.metrics.promql.ast import (
    Aggregate,
    Binary,
    Call,
    MatrixSelector,
    Negation,
    Node,
    NumberLiteral,
    Paren,
    StringLiteral,
    Subquery,
    VectorSelector,
    unwrap_parens,
)
from opsplane.server.metrics.promql.binops import evaluate_binary, negate
from opsplane.server.metrics.promql.context import EvalContext
from opsplane.server.metrics.promql.registry import CallInput, implementation
from opsplane.server.metrics.promql.selectors import (
    clip_samples,
    select_instant,
    select_range,
    subquery_steps,
    vector_as_range,
)
from opsplane.server.metrics.promql.values import (
    InstantVector,
    Ints,
    RangeVector,
    Scalar,
    String,
    Value,
)

AT_DRIFTING_FUNCTIONS = frozenset({"predict_linear"})
"""Prometheus 2.42 quirk: in these (its "@-unsafe" functions taking a range), an `@` range
moves with the step: its window ends at `@ - offset + (step - start)`, not at `@ - offset`.
"""


class Evaluator:
    def __init__(self, ctx: EvalContext) -> None:
        self.ctx = ctx

    def eval(self, node: Node, times: Ints) -> Value:
        self.ctx.check_deadline()
        if isinstance(node, NumberLiteral):
            return Scalar(np.full(len(times), node.value))
        if isinstance(node, StringLiteral):
            return String(node.value)
        if isinstance(node, Paren):
            return self.eval(node.expr, times)
        if isinstance(node, Negation):
            return negate(self.eval(node.expr, times))
        if isinstance(node, VectorSelector):
            return self.instant_selector(node, times)[0]
        if isinstance(node, MatrixSelector):
            return self.range_selector(node, times)
        if isinstance(node, Subquery):
            return self.subquery(node, times)
        if isinstance(node, Call):
            return self.call(node, times)
        if isinstance(node, Aggregate):
            return self.aggregate(node, times)
        if isinstance(node, Binary):
            return evaluate_binary(node, self.eval(node.lhs, times), self.eval(node.rhs, times))
        raise QueryError(f"unexpected expression {node!r}", error_type="execution")

    def instant_selector(self, node: VectorSelector, times: Ints) -> tuple[InstantVector, Ints]:
        refs = self.ctx.reference_times(node.at, node.offset_ms, times)
        return select_instant(self.ctx.data.get(node, ()), refs, self.ctx.lookback_ms)

    def range_selector(self, node: MatrixSelector, times: Ints, drift: bool = False) -> RangeVector:
        sel = node.selector
        ends = self.ctx.reference_times(sel.at, sel.offset_ms, times, drift=drift)
        return select_range(self.ctx.data.get(sel, ()), ends, node.range_ms)

    def subquery(self, node: Subquery, times: Ints, drift: bool = False) -> RangeVector:
        refs = self.ctx.reference_times(node.at, node.offset_ms, times, drift=drift)
        step = node.step_ms or self.ctx.default_step_ms
        inner_times = subquery_steps(refs, node.range_ms, step)
        if len(inner_times) == 0:
            return RangeVector([], [], [], refs, node.range_ms)
        inner = self.eval(node.expr, inner_times)
        if not isinstance(inner, InstantVector):
            raise QueryError("subquery is only allowed on instant vector", error_type="execution")
        return vector_as_range(inner.compact(), inner_times, refs, node.range_ms)

    def call(self, node: Call, times: Ints) -> Value:
        sample_times = None
        args: list[Value] = []
        first = unwrap_parens(node.args[0]) if node.args else None
        if node.func == "timestamp" and isinstance(first, VectorSelector):
            # timestamp() of a plain selector reports the samples' own times.
            vector, sample_times = self.instant_selector(first, times)
            args.append(vector)
        elif node.func in AT_DRIFTING_FUNCTIONS and isinstance(first, MatrixSelector | Subquery):
            args = [self.drifting_range(first, times)]
            args += [self.eval(arg, times) for arg in node.args[1:]]
        else:
            args = [self.eval(arg, times) for arg in node.args]
        inp = CallInput(node, args, times, self.ctx, sample_times)
        return implementation(node.func)(inp)

    def drifting_range(self, node: MatrixSelector | Subquery, times: Ints) -> RangeVector:
        if isinstance(node, Subquery):
            return self.subquery(node, times, drift=True)
        rv = self.range_selector(node, times, drift=True)
        pinned = self.ctx.resolve_at(node.selector.at)
        if pinned is None:
            return rv
        # Prometheus read the series only over the pinned window, so the drifting windows
        # see just the part of it they still overlap.
        end = pinned - node.selector.offset_ms
        return clip_samples(rv, end - node.range_ms, end)

    def aggregate(self, node: Aggregate, times: Ints) -> InstantVector:
        param: np.ndarray | str | None = None
        if node.param is not None:
            value = self.eval(node.param, times)
            if isinstance(value, String):
                param = value.value
            elif isinstance(value, Scalar):
                param = value.values
        vector = self.eval(node.expr, times)
        assert isinstance(vector, InstantVector)
        return aggregate(node, vector, param)
