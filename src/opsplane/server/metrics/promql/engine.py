"""The PromQL engine: parse, fetch what the selectors need, evaluate off the event loop.

    engine = Engine(queryable)
    data = await engine.instant_query("sum by (job) (rate(http_requests_total[5m]))", now_ms)

Results are the `data` member of Prometheus's API responses; refusals raise `QueryError`
with Prometheus's error type (bad_data, execution, timeout).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from opsplane.server.metrics.model import Queryable, QueryError
from opsplane.server.metrics.promql.ast import Node, parse, value_type
from opsplane.server.metrics.promql.context import (
    DEFAULT_LOOKBACK_MS,
    DEFAULT_SUBQUERY_STEP_MS,
    EvalContext,
)
from opsplane.server.metrics.promql.evaluator import Evaluator
from opsplane.server.metrics.promql.plan import fetch, selector_spans
from opsplane.server.metrics.promql.results import instant_data, range_data
from opsplane.server.metrics.promql.values import Ints, Value

MAX_POINTS = 11_000


@dataclass(frozen=True)
class EngineOptions:
    lookback_ms: int = DEFAULT_LOOKBACK_MS
    """How far back an instant selector looks for a sample (Prometheus: 5m)."""
    default_subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS
    default_timeout_s: float = 120.0
    max_samples: int = 50_000_000
    """Refuse a query that would read more samples than this (Prometheus's default limit)."""


class Engine:
    def __init__(self, queryable: Queryable, options: EngineOptions | None = None) -> None:
        self.queryable = queryable
        self.options = options or EngineOptions()

    async def instant_query(
        self, expr: str, time_ms: int, *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        node = parse(expr)
        times = np.array([time_ms], dtype=np.int64)
        return await self._evaluate(
            node, times, time_ms, time_ms, timeout_s, lambda v: instant_data(v, time_ms)
        )

    async def range_query(
        self, expr: str, start_ms: int, end_ms: int, step_ms: int, *, timeout_s: float | None = None
    ) -> dict[str, Any]:
        node = parse(expr)
        kind = value_type(node)
        if kind not in ("scalar", "vector"):
            shown = "range vector" if kind == "matrix" else kind
            raise QueryError(
                f'invalid expression type "{shown}" for range query, '
                "must be Scalar or instant Vector"
            )
        if end_ms < start_ms:
            raise QueryError("end timestamp must not be before start time")
        if step_ms <= 0:
            raise QueryError(
                "zero or negative query resolution step widths are not accepted. "
                "Try a positive integer"
            )
        if (end_ms - start_ms) // step_ms > MAX_POINTS:  # as Prometheus counts: intervals
            raise QueryError(
                "exceeded maximum resolution of 11,000 points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        return await self._evaluate(
            node, times, start_ms, end_ms, timeout_s, lambda v: range_data(v, times)
        )

    async def _evaluate(
        self,
        node: Node,
        times: Ints,
        start_ms: int,
        end_ms: int,
        timeout_s: float | None,
        shape: Callable[[Value], dict[str, Any]],
    ) -> dict[str, Any]:
        timeout = timeout_s or self.options.default_timeout_s
        ctx = EvalContext(
            start_ms=start_ms,
            end_ms=end_ms,
            lookback_ms=self.options.lookback_ms,
            default_step_ms=self.options.default_subquery_step_ms,
            deadline=time.monotonic() + timeout,
        )
        spans = selector_spans(node, (int(times[0]), int(times[-1])), ctx)
        try:
            ctx.data = await asyncio.wait_for(fetch(self.queryable, spans), timeout)
            self._check_sample_count(ctx)
            # The math (and shaping the result) runs in a worker thread, not on the event loop.
            return await asyncio.to_thread(lambda: shape(evaluate(node, times, ctx)))
        except TimeoutError:
            raise QueryError("query timed out in query execution", error_type="timeout") from None

    def _check_sample_count(self, ctx: EvalContext) -> None:
        loaded = sum(len(s.timestamps) for series in ctx.data.values() for s in series)
        if loaded > self.options.max_samples:
            raise QueryError(
                "query processing would load too many samples into memory in query execution",
                error_type="execution",
            )


def evaluate(node: Node, times: Ints, ctx: EvalContext) -> Value:
    """Evaluate synchronously (IEEE results for 1/0, log(-1)... without numpy warnings)."""
    with np.errstate(all="ignore"):
        return Evaluator(ctx).eval(node, times)
