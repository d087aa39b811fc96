"""Before evaluating: which samples each selector needs, fetched once per distinct selector.

Walks the tree with the interval of times each node is evaluated at (subqueries widen it,
`@` pins it, offsets shift it) and asks the Queryable for exactly that span.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from opsplane.server.metrics.model import LabelMatcher, Queryable, SeriesData
from opsplane.server.metrics.promql.ast import (
    Aggregate,
    AtSpec,
    Binary,
    Call,
    MatrixSelector,
    Negation,
    Node,
    Paren,
    Subquery,
    VectorSelector,
    unwrap_parens,
)
from opsplane.server.metrics.promql.context import EvalContext
from opsplane.server.metrics.promql.evaluator import AT_DRIFTING_FUNCTIONS

Span = tuple[int, int]


def _reference(
    ctx: EvalContext, at: AtSpec, offset_ms: int, span: Span, drift: bool = False
) -> Span:
    fixed = ctx.resolve_at(at)
    lo, hi = (fixed, fixed) if fixed is not None else span
    if fixed is not None and drift:
        hi += span[1] - ctx.start_ms
    return lo - offset_ms, hi - offset_ms


def selector_spans(node: Node, span: Span, ctx: EvalContext) -> dict[VectorSelector, Span]:
    """The [first, last] sample time (ms, inclusive) each selector must read."""
    spans: dict[VectorSelector, Span] = {}
    _walk(node, span, ctx, spans)
    return spans


def _walk(
    node: Node,
    span: Span,
    ctx: EvalContext,
    out: dict[VectorSelector, Span],
    drift: bool = False,
) -> None:
    if isinstance(node, VectorSelector):
        lo, hi = _reference(ctx, node.at, node.offset_ms, span)
        out[node] = (lo - ctx.lookback_ms, hi)
    elif isinstance(node, MatrixSelector):
        sel = node.selector
        lo, hi = _reference(ctx, sel.at, sel.offset_ms, span, drift)
        out[sel] = (lo - node.range_ms, hi)
    elif isinstance(node, Subquery):
        lo, hi = _reference(ctx, node.at, node.offset_ms, span, drift)
        _walk(node.expr, (lo - node.range_ms, hi), ctx, out)
    elif isinstance(node, Call):
        drifting = node.func in AT_DRIFTING_FUNCTIONS
        for i, arg in enumerate(node.args):
            _walk(unwrap_parens(arg), span, ctx, out, drift=drifting and i == 0)
    elif isinstance(node, Aggregate):
        if node.param is not None:
            _walk(node.param, span, ctx, out)
        _walk(node.expr, span, ctx, out)
    elif isinstance(node, Binary):
        _walk(node.lhs, span, ctx, out)
        _walk(node.rhs, span, ctx, out)
    elif isinstance(node, Negation | Paren):
        _walk(node.expr, span, ctx, out)


async def fetch(
    queryable: Queryable, spans: dict[VectorSelector, Span]
) -> dict[VectorSelector, Sequence[SeriesData]]:
    """One `select` per distinct matcher set, over the union of the spans that need it."""
    merged: dict[tuple[LabelMatcher, ...], Span] = {}
    for sel, (lo, hi) in spans.items():
        key = sel.matchers
        old = merged.get(key)
        merged[key] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
    keys = list(merged)
    results = await asyncio.gather(
        *(queryable.select(list(key), merged[key][0], merged[key][1]) for key in keys)
    )
    by_key = dict(zip(keys, results, strict=True))
    return {sel: by_key[sel.matchers] for sel in spans}
