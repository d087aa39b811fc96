"""What one query's evaluation needs besides the expression: times, data, limits."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from opsplane.server.metrics.model import QueryError, SeriesData
from opsplane.server.metrics.promql.ast import AtSpec, VectorSelector
from opsplane.server.metrics.promql.values import Ints

DEFAULT_LOOKBACK_MS = 5 * 60 * 1000
DEFAULT_SUBQUERY_STEP_MS = 60 * 1000
"""Prometheus uses its global evaluation interval for subqueries without a step (1m default)."""


@dataclass
class EvalContext:
    start_ms: int
    """The query's start and end: what `@ start()` and `@ end()` mean."""
    end_ms: int
    data: Mapping[VectorSelector, Sequence[SeriesData]] = field(default_factory=dict)
    lookback_ms: int = DEFAULT_LOOKBACK_MS
    default_step_ms: int = DEFAULT_SUBQUERY_STEP_MS
    deadline: float | None = None
    """A `time.monotonic()` instant after which evaluation stops with a timeout error."""

    def check_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QueryError("query timed out in expression evaluation", error_type="timeout")

    def resolve_at(self, at: AtSpec) -> int | None:
        if at == "start":
            return self.start_ms
        if at == "end":
            return self.end_ms
        return at

    def reference_times(
        self, at: AtSpec, offset_ms: int, times: Ints, *, drift: bool = False
    ) -> Ints:
        """The times a selector reads at: each step's time, or the `@` time, minus the offset.

        With `drift`, an `@` time moves along with the steps (see AT_DRIFTING_FUNCTIONS).
        """
        fixed = self.resolve_at(at)
        if fixed is None:
            return times - offset_ms
        pinned = np.full(len(times), fixed - offset_ms, dtype=np.int64)
        return pinned + (times - self.start_ms) if drift else pinned
