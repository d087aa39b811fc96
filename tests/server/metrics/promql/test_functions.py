"""Functions: rates and resets, *_over_time, histogram_quantile, label_*, absent, sort."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql import Engine
from opsplane.server.metrics.promql.histograms import bucket_quantile, parse_go_float
from opsplane.server.metrics.promql.label_functions import go_expand
from tests.server.metrics.promql.conftest import T0, values
from tests.server.metrics.promql.memory import MemoryQueryable

JOB = (("job", "a"),)


def _counter(store: MemoryQueryable, samples: list[float], step_ms: int = 15_000) -> None:
    store.add({"__name__": "c", "job": "a"}, [(T0 + i * step_ms, v) for i, v in enumerate(samples)])


async def test_increase_corrects_resets_and_extrapolates(
    store: MemoryQueryable, engine: Engine
) -> None:
    # 0..60 s: 10, 20, 5 (reset), 15, 25 -> raw increase 10 + 20 (dropped) - 10 + ... = 35.
    _counter(store, [10, 20, 5, 15, 25])
    data = await engine.instant_query("increase(c[1m])", T0 + 60_000)
    # Samples span 60 s of a 60 s window: no extrapolation; 25 - 10 + 20 = 35.
    assert values(data) == {JOB: "35"}
    rate = values(await engine.instant_query("rate(c[1m])", T0 + 60_000))
    assert float(rate[JOB]) == pytest.approx(35 / 60)


async def test_rate_extrapolates_at_most_to_the_counter_zero(
    store: MemoryQueryable, engine: Engine
) -> None:
    _counter(store, [1, 11, 21])  # 0, 15, 30 s; window [−30 s, 30 s] at T0+30 s
    data = await engine.instant_query("increase(c[1m])", T0 + 30_000)
    # Starting at 1 with slope 10/15 s, zero is 1.5 s before the first sample: 20 * 31.5/30.
    assert float(values(data)[JOB]) == pytest.approx(20 * 31.5 / 30)


async def test_irate_and_idelta(store: MemoryQueryable, engine: Engine) -> None:
    _counter(store, [10, 40, 4])
    assert values(await engine.instant_query("irate(c[1m])", T0 + 30_000)) == {JOB: repr(4 / 15)}
    assert values(await engine.instant_query("idelta(c[1m])", T0 + 30_000)) == {JOB: "-36"}


async def test_resets_changes_and_a_single_sample(store: MemoryQueryable, engine: Engine) -> None:
    _counter(store, [5, 3, 3, 8, 1])
    assert values(await engine.instant_query("resets(c[2m])", T0 + 60_000)) == {JOB: "2"}
    assert values(await engine.instant_query("changes(c[2m])", T0 + 60_000)) == {JOB: "3"}
    assert values(await engine.instant_query("rate(c[10s])", T0 + 60_000)) == {}
    assert values(await engine.instant_query("changes(c[10s])", T0 + 60_000)) == {JOB: "0"}


async def test_over_time_functions(store: MemoryQueryable, engine: Engine) -> None:
    _counter(store, [4, math.nan, 1, 7])
    at = T0 + 45_000

    async def one(expr: str) -> str:
        result = values(await engine.instant_query(expr, at))
        return str(next(iter(result.values())))

    assert await one("min_over_time(c[1m])") == "1"  # NaN is skipped
    assert await one("max_over_time(c[1m])") == "7"
    assert await one("count_over_time(c[1m])") == "4"
    assert await one("sum_over_time(c[1m])") == "NaN"
    assert await one("last_over_time(c[1m])") == "7"
    assert await one("quantile_over_time(0, c[1m])") == "NaN"  # NaN sorts first
    assert await one("quantile_over_time(2, c[1m])") == "+Inf"
    data = await engine.instant_query("last_over_time(c[1m])", at)
    assert data["result"][0]["metric"] == {"__name__": "c", "job": "a"}  # keeps the name


async def test_predict_linear_regresses_around_the_evaluation_time(
    store: MemoryQueryable, engine: Engine
) -> None:
    _counter(store, [0, 15, 30, 45], step_ms=15_000)  # slope 1/s
    data = await engine.instant_query("predict_linear(c[1m], 100)", T0 + 60_000)
    assert float(values(data)[JOB]) == pytest.approx(160)
    assert values(await engine.instant_query("deriv(c[1m])", T0 + 60_000)) == {JOB: "1"}


def test_bucket_quantile_interpolates_inside_the_bucket() -> None:
    bounds = np.array([1.0, 2.0, 4.0, math.inf])
    counts = np.array([[10.0], [20.0], [40.0], [40.0]])
    present = np.ones_like(counts, dtype=bool)
    q = np.array([0.5])
    assert bucket_quantile(q, bounds, counts, present)[0] == 2.0  # rank 20 ends bucket 2
    assert bucket_quantile(np.array([0.75]), bounds, counts, present)[0] == 3.0
    assert bucket_quantile(np.array([1.0]), bounds, counts, present)[0] == 4.0  # +Inf: previous
    assert bucket_quantile(np.array([-0.1]), bounds, counts, present)[0] == -math.inf


def test_bucket_quantile_needs_the_inf_bucket_and_forces_monotonic_counts() -> None:
    q = np.array([0.5])
    bounds = np.array([1.0, 2.0])
    counts = np.array([[1.0], [2.0]])
    assert math.isnan(bucket_quantile(q, bounds, counts, np.ones_like(counts, dtype=bool))[0])
    bounds = np.array([1.0, 2.0, math.inf])
    counts = np.array([[10.0], [5.0], [10.0]])  # a dip: forced to 10
    assert bucket_quantile(q, bounds, counts, np.ones_like(counts, dtype=bool))[0] == 0.5


@pytest.mark.parametrize("text", ["1", "+Inf", "inf", "0.25", "1e3", "NaN", "-2"])
def test_le_labels_parse_like_go(text: str) -> None:
    assert parse_go_float(text) is not None


@pytest.mark.parametrize("text", ["", " 1", "1_0", "abc", "0x"])
def test_bad_le_labels_are_skipped(text: str) -> None:
    assert parse_go_float(text) is None


@pytest.mark.parametrize(
    ("template", "expanded"),
    [("$1-x", "ab-x"), ("$1x", ""), ("${1}x", "abx"), ("$name", "cd"), ("${name}!", "cd!"),
     ("$$1", "$1"), ("$", "$"), ("${1", "${1"), ("$9", ""), ("$01", "")],
)  # fmt: skip
def test_label_replace_templates_follow_go_expand(template: str, expanded: str) -> None:
    match = re.fullmatch(r"(ab)(?P<name>cd)", "abcd")
    assert match is not None
    assert go_expand(template, match) == expanded


async def test_label_replace_and_join(store: MemoryQueryable, engine: Engine) -> None:
    store.add({"__name__": "up", "instance": "host-1:9100", "job": "node"}, [(T0, 1.0)])
    data = await engine.instant_query('label_replace(up, "host", "$1", "instance", "(.*):.*")', T0)
    assert data["result"][0]["metric"]["host"] == "host-1"
    data = await engine.instant_query('label_join(up, "id", "/", "job", "instance")', T0)
    assert data["result"][0]["metric"]["id"] == "node/host-1:9100"
    with pytest.raises(QueryError, match="invalid regular expression"):
        await engine.instant_query('label_replace(up, "a", "b", "c", "(")', T0)


async def test_absent_takes_labels_from_equality_matchers(engine: Engine) -> None:
    data = await engine.instant_query('absent(nope{job="a", env=~"p.*", x="1", x="2"})', T0)
    assert data["result"] == [{"metric": {"job": "a"}, "value": [T0 // 1000, "1"]}]


async def test_sort_puts_nan_first(store: MemoryQueryable, engine: Engine) -> None:
    for name, value in (("a", 2.0), ("b", math.nan), ("c", 1.0)):
        store.add({"__name__": "g", "k": name}, [(T0, value)])
    up = [s["metric"]["k"] for s in (await engine.instant_query("sort(g)", T0))["result"]]
    down = [s["metric"]["k"] for s in (await engine.instant_query("sort_desc(g)", T0))["result"]]
    assert (up, down) == (["b", "c", "a"], ["b", "a", "c"])


async def test_date_functions(engine: Engine) -> None:
    # 2024-02-29T13:45:00Z, a Thursday in a leap year.
    at = 1_709_214_300
    expected = {
        "year": "2024",
        "month": "2",
        "day_of_month": "29",
        "day_of_week": "4",
        "day_of_year": "60",
        "days_in_month": "29",
        "hour": "13",
        "minute": "45",
    }
    for fn, value in expected.items():
        data = await engine.instant_query(f"{fn}(vector({at}))", T0)
        assert data["result"][0]["value"][1] == value, fn


async def test_holt_winters_refuses_bad_factors(store: MemoryQueryable, engine: Engine) -> None:
    _counter(store, [1, 2, 3])
    with pytest.raises(QueryError, match="invalid smoothing factor") as caught:
        await engine.instant_query("holt_winters(c[1m], 1, 0.5)", T0 + 30_000)
    assert caught.value.error_type == "execution"
