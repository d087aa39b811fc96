"""Engine fixtures: an in-memory Queryable with a few series, and a query helper."""

from __future__ import annotations

from typing import Any

import pytest

from opsplane.server.metrics.promql import Engine, EngineOptions
from tests.server.metrics.promql.memory import MemoryQueryable

T0 = 1_700_000_000_000
"""A round start time (ms); samples are placed relative to it."""


@pytest.fixture
def store() -> MemoryQueryable:
    return MemoryQueryable()


@pytest.fixture
def engine(store: MemoryQueryable) -> Engine:
    return Engine(store, EngineOptions())


def values(data: dict[str, Any]) -> dict[tuple[tuple[str, str], ...], Any]:
    """A vector or matrix result as {labels: value or [(t, v), ...]}, values as strings."""
    out: dict[tuple[tuple[str, str], ...], Any] = {}
    for series in data["result"]:
        key = tuple(sorted(series["metric"].items()))
        if "value" in series:
            out[key] = series["value"][1]
        else:
            out[key] = [(t, v) for t, v in series["values"]]
    return out
