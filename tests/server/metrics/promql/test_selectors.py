"""Instant and range selection: lookback, staleness markers, offset, @, subquery steps."""

from __future__ import annotations

import math

import pytest

from opsplane.server.metrics.model import STALE_NAN, QueryError
from opsplane.server.metrics.promql import Engine, EngineOptions
from tests.server.metrics.promql.conftest import T0, values
from tests.server.metrics.promql.memory import MemoryQueryable

UP = (("__name__", "up"), ("job", "a"))


async def test_lookback_is_five_minutes_inclusive(store: MemoryQueryable, engine: Engine) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0, 1.0)])
    assert values(await engine.instant_query("up", T0 + 300_000)) == {UP: "1"}
    assert values(await engine.instant_query("up", T0 + 300_001)) == {}
    assert values(await engine.instant_query("up", T0 - 1)) == {}


async def test_lookback_is_configurable(store: MemoryQueryable) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0, 1.0)])
    short = Engine(store, EngineOptions(lookback_ms=60_000))
    assert values(await short.instant_query("up", T0 + 60_000)) == {UP: "1"}
    assert values(await short.instant_query("up", T0 + 60_001)) == {}


async def test_staleness_marker_ends_the_series(store: MemoryQueryable, engine: Engine) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0, 1.0), (T0 + 15_000, STALE_NAN)])
    assert values(await engine.instant_query("up", T0 + 14_999)) == {UP: "1"}
    assert values(await engine.instant_query("up", T0 + 15_000)) == {}
    # ... but a plain NaN is a value.
    store.add({"__name__": "up", "job": "a"}, [(T0 + 30_000, math.nan)])
    assert values(await engine.instant_query("up", T0 + 31_000)) == {UP: "NaN"}


async def test_range_selection_drops_markers_and_includes_both_ends(
    store: MemoryQueryable, engine: Engine
) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0, 1.0), (T0 + 10_000, STALE_NAN),
                                               (T0 + 20_000, 2.0)])  # fmt: skip
    data = await engine.instant_query("up[20s]", T0 + 20_000)
    assert data["resultType"] == "matrix"
    assert values(data) == {UP: [(1700000000, "1"), (1700000020, "2")]}


async def test_offset_and_at(store: MemoryQueryable, engine: Engine) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0 + i * 60_000, float(i)) for i in range(10)])
    assert values(await engine.instant_query("up offset 2m", T0 + 540_000)) == {UP: "7"}
    assert values(await engine.instant_query("up @ 1700000180", T0 + 540_000)) == {UP: "3"}
    data = await engine.range_query("up @ start()", T0 + 60_000, T0 + 180_000, 60_000)
    assert values(data)[UP] == [(1700000060, "1"), (1700000120, "1"), (1700000180, "1")]
    data = await engine.range_query("up @ end() offset 1m", T0 + 60_000, T0 + 120_000, 60_000)
    assert values(data)[UP] == [(1700000060, "1"), (1700000120, "1")]


async def test_subquery_steps_are_aligned_to_absolute_multiples(
    store: MemoryQueryable, engine: Engine
) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0 + i * 1000, float(i)) for i in range(300)])
    # [1m:20s] at T0+130.5s: inner steps at multiples of 20 s within [T0+70.5s, T0+130.5s].
    data = await engine.instant_query("up[1m:20s]", T0 + 130_500)
    assert [t for t, _ in values(data)[UP]] == [1700000080, 1700000100, 1700000120]


async def test_range_query_point_limit(engine: Engine) -> None:
    # Prometheus counts intervals: 11,000 of them (11,001 points) is still fine.
    await engine.range_query("1", T0, T0 + 11_000 * 1000, 1000)
    with pytest.raises(QueryError, match="11,000 points"):
        await engine.range_query("1", T0, T0 + 11_001 * 1000, 1000)


async def test_range_query_refuses_a_range_vector(engine: Engine) -> None:
    with pytest.raises(QueryError, match='invalid expression type "range vector"') as caught:
        await engine.range_query("up[5m]", T0, T0 + 60_000, 15_000)
    assert caught.value.error_type == "bad_data"


async def test_expired_deadline_is_a_timeout(store: MemoryQueryable, engine: Engine) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0, 1.0)])
    with pytest.raises(QueryError) as caught:
        await engine.instant_query("up", T0, timeout_s=1e-9)
    assert caught.value.error_type == "timeout"


async def test_too_many_samples_is_an_execution_error(store: MemoryQueryable) -> None:
    store.add({"__name__": "up", "job": "a"}, [(T0 + i, 1.0) for i in range(100)])
    small = Engine(store, EngineOptions(max_samples=50))
    with pytest.raises(QueryError, match="too many samples") as caught:
        await small.instant_query("count_over_time(up[1s])", T0 + 99)
    assert caught.value.error_type == "execution"
