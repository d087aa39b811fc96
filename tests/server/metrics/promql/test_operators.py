"""Aggregations and binary operators: grouping, matching, and Prometheus's refusals."""

from __future__ import annotations

import pytest

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql import Engine
from tests.server.metrics.promql.conftest import T0, values
from tests.server.metrics.promql.memory import MemoryQueryable


@pytest.fixture
def fleet(store: MemoryQueryable) -> MemoryQueryable:
    for host, zone, temp in (("a", "eu", 20.0), ("b", "eu", 30.0), ("c", "us", 25.0)):
        store.add({"__name__": "temp", "host": host, "zone": zone}, [(T0, temp)])
        store.add({"__name__": "mem", "host": host, "zone": zone}, [(T0, temp * 10)])
    store.add({"__name__": "info", "zone": "eu", "region": "west"}, [(T0, 1.0)])
    store.add({"__name__": "info", "zone": "us", "region": "east"}, [(T0, 1.0)])
    return store


async def q(engine: Engine, expr: str) -> dict[tuple[tuple[str, str], ...], str]:
    result: dict[tuple[tuple[str, str], ...], str] = values(await engine.instant_query(expr, T0))
    return result


async def test_aggregations_by_and_without(fleet: MemoryQueryable, engine: Engine) -> None:
    assert await q(engine, "sum by (zone) (temp)") == {(("zone", "eu"),): "50",
                                                       (("zone", "us"),): "25"}  # fmt: skip
    assert await q(engine, "avg without (host) (temp)") == {(("zone", "eu"),): "25",
                                                            (("zone", "us"),): "25"}  # fmt: skip
    assert await q(engine, "count(temp)") == {(): "3"}
    assert await q(engine, "stddev by (zone) (temp)") == {(("zone", "eu"),): "5",
                                                          (("zone", "us"),): "0"}  # fmt: skip
    assert await q(engine, "quantile(0.5, temp)") == {(): "25"}
    assert await q(engine, "group by (zone) (temp)") == {(("zone", "eu"),): "1",
                                                         (("zone", "us"),): "1"}  # fmt: skip
    assert await q(engine, "sum by (__name__) (temp)") == {(("__name__", "temp"),): "75"}


async def test_count_values_and_topk(fleet: MemoryQueryable, engine: Engine) -> None:
    assert await q(engine, 'count_values("t", temp > 20)') == {(("t", "25"),): "1",
                                                              (("t", "30"),): "1"}  # fmt: skip
    data = await engine.instant_query("topk(2, temp)", T0)
    assert [s["metric"]["host"] for s in data["result"]] == ["b", "c"]
    data = await engine.instant_query("bottomk by (zone) (1, temp)", T0)
    assert sorted(s["metric"]["host"] for s in data["result"]) == ["a", "c"]
    assert data["result"][0]["metric"]["__name__"] == "temp"  # topk/bottomk keep labels


async def test_arithmetic_drops_the_name_comparisons_keep_it(
    fleet: MemoryQueryable, engine: Engine
) -> None:
    assert (("host", "a"), ("zone", "eu")) in await q(engine, "temp * 2")
    assert (("__name__", "temp"), ("host", "b"), ("zone", "eu")) in await q(engine, "temp > 25")
    assert await q(engine, "temp > bool 25") == {
        (("host", "a"), ("zone", "eu")): "0",
        (("host", "b"), ("zone", "eu")): "1",
        (("host", "c"), ("zone", "us")): "0",
    }
    # scalar-on-the-left comparisons keep the vector's value
    assert sorted((await q(engine, "30 > temp")).values()) == ["20", "25"]
    assert (await engine.instant_query("1 < bool 2", T0))["result"][1] == "1"


async def test_vector_matching(fleet: MemoryQueryable, engine: Engine) -> None:
    assert await q(engine, "mem / temp") == {
        (("host", "a"), ("zone", "eu")): "10",
        (("host", "b"), ("zone", "eu")): "10",
        (("host", "c"), ("zone", "us")): "10",
    }
    joined = await q(engine, "temp * on(zone) group_left(region) info")
    assert joined[(("host", "a"), ("region", "west"), ("zone", "eu"))] == "20"
    assert await q(engine, "temp > on(host) mem") == {}
    assert await q(engine, "temp < on(host) mem") == {(("host", "a"),): "20",
                                                      (("host", "b"),): "30",
                                                      (("host", "c"),): "25"}  # fmt: skip


async def test_set_operators(fleet: MemoryQueryable, engine: Engine) -> None:
    assert len(await q(engine, "temp and on(zone) info")) == 3
    assert len(await q(engine, 'temp and on(zone) info{region="east"}')) == 1
    assert len(await q(engine, 'temp unless on(zone) info{region="east"}')) == 2
    assert len(await q(engine, "temp or mem")) == 3  # same labels but the name: left wins
    assert len(await q(engine, "temp or on(host, __name__) mem")) == 6


async def test_ambiguous_matches_are_refused(fleet: MemoryQueryable, engine: Engine) -> None:
    with pytest.raises(QueryError, match="many-to-many matching not allowed") as caught:
        await engine.instant_query("info + on(zone) temp", T0)
    assert caught.value.error_type == "execution"
    with pytest.raises(QueryError, match="many-to-one matching must be explicit"):
        await engine.instant_query("temp + on(zone) info", T0)
    with pytest.raises(QueryError, match="same labelset"):
        await engine.instant_query('label_replace(temp, "host", "x", "", "")', T0)
    with pytest.raises(QueryError, match="same labelset"):
        await engine.instant_query('-{__name__=~"temp|mem"}', T0)


async def test_scalar_arithmetic_and_go_modulo(engine: Engine) -> None:
    assert (await engine.instant_query("-7 % 3", T0))["result"][1] == "-1"
    assert (await engine.instant_query("2 ^ 3 ^ 2", T0))["result"][1] == "512"
    assert (await engine.instant_query("1 / 0", T0))["result"][1] == "+Inf"
    assert (await engine.instant_query("0 / 0", T0))["result"][1] == "NaN"
