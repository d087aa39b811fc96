"""Differential test: the same samples in a real Prometheus 2.42 and in `opsplane server`,
the same PromQL corpus through both HTTP APIs, the same answers.

Both receive the samples by remote write (`POST .../api/v1/write`); every corpus expression
then runs as instant queries at three times and, where its type allows, as range queries at
two steps (one not dividing the range), all as POST forms like Grafana's. Results must
match: same result type, same series and labels, same timestamps, values within 1e-9
relative (NaN equal to NaN); for sort()/sort_desc() the order too; refused queries must be
refused with the same error type and status.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsplane.server.metrics.remote_write import HEADERS, encode
from tests.integration.promql_data import CORPUS, ORDERED, Dataset, generate
from tests.support.processes import ServerProcess, login
from tests.support.prometheus import PrometheusServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RELATIVE = 1e-9
ABSOLUTE = 1e-12


@dataclass
class Target:
    """One side of the comparison: a base URL whose API is at `<url>/api/v1`."""

    url: str
    headers: dict[str, str]

    def __post_init__(self) -> None:
        # One client per side: a fresh httpx client per request costs ~50 ms of TLS setup.
        self.client = httpx.Client(base_url=f"{self.url}/api/v1", headers=self.headers, timeout=60)

    def post(self, path: str, form: dict[str, Any]) -> httpx.Response:
        return self.client.post(f"/{path}", data=form)

    def remote_write(self, body: bytes) -> None:
        response = self.client.post("/write", content=body, headers=dict(HEADERS))
        assert response.status_code in (200, 204), response.text


@dataclass
class Sides:
    prometheus: Target
    opsplane: Target
    data: Dataset


@pytest.fixture(scope="module")
def sides(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sides]:
    root: Path = tmp_path_factory.mktemp("promql-diff")
    # Subqueries without a step use the global evaluation interval: 1m, like our default.
    prometheus = PrometheusServer(root / "prometheus", evaluation_interval="1m").start()
    server = ServerProcess(root / "server").start()
    try:
        token = login(server.url)
        ours = Target(f"{server.url}/prometheus", {"Authorization": f"Bearer {token}"})
        theirs = Target(prometheus.url, {})
        data = generate(end_ms=(int(time.time()) // 60) * 60_000 - 60_000)
        body = encode(data.request)
        theirs.remote_write(body)
        ours.remote_write(body)
        yield Sides(theirs, ours, data)
        ours.client.close()
        theirs.client.close()
    finally:
        server.stop()
        prometheus.stop()


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y) or math.isinf(x) or math.isinf(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= max(RELATIVE * max(abs(x), abs(y)), ABSOLUTE)


def _points_equal(ours: list[list[Any]], theirs: list[list[Any]]) -> bool:
    return len(ours) == len(theirs) and all(
        float(p[0]) == float(q[0]) and _close(p[1], q[1]) for p, q in zip(ours, theirs, strict=True)
    )


def _series(data: dict[str, Any], ordered: bool) -> list[tuple[Any, list[list[Any]]]]:
    items = [
        (tuple(sorted(s["metric"].items())), s.get("values") or [s["value"]])
        for s in data["result"]
    ]
    return items if ordered else sorted(items, key=lambda item: item[0])


def difference(ours: dict[str, Any], theirs: dict[str, Any], ordered: bool) -> str | None:
    """Why two `data` members differ, or None when they match."""
    if ours["resultType"] != theirs["resultType"]:
        return f"result type {ours['resultType']} != {theirs['resultType']}"
    if ours["resultType"] in ("scalar", "string"):
        same = _points_equal([ours["result"]], [theirs["result"]])
        return None if same else f"{ours['result']} != {theirs['result']}"
    mine, other = _series(ours, ordered), _series(theirs, ordered)
    if [k for k, _ in mine] != [k for k, _ in other]:
        return f"series: ours {[k for k, _ in mine]}\n theirs {[k for k, _ in other]}"
    for (labels, a), (_, b) in zip(mine, other, strict=True):
        if not _points_equal(a, b):
            return f"values of {labels}:\n ours   {a[:6]}...\n theirs {b[:6]}..."
    return None


def runs(data: Dataset) -> list[tuple[str, dict[str, Any]]]:
    five_min = 300_000
    return [
        ("query", {"time": data.end_ms / 1000}),
        ("query", {"time": (data.end_ms - 437_000) / 1000}),
        ("query", {"time": (data.start_ms + 600_000) / 1000}),
        (
            "query_range",
            {"start": (data.start_ms + five_min) / 1000, "end": data.end_ms / 1000, "step": "60"},
        ),
        (
            "query_range",
            {"start": (data.start_ms + 7_000) / 1000, "end": data.end_ms / 1000, "step": "37s"},
        ),
    ]


def compare(sides: Sides, expr: str) -> list[str]:
    """Run one expression every way on both sides; the differences found."""
    problems = []
    for path, params in runs(sides.data):
        form = {"query": expr, **params}
        ours, theirs = sides.opsplane.post(path, form), sides.prometheus.post(path, form)
        mine, other = ours.json(), theirs.json()
        where = f"{path} {params}"
        if (ours.status_code, mine["status"]) != (theirs.status_code, other["status"]):
            problems.append(f"{where}: ours {ours.status_code} {mine} / theirs {theirs.status_code}"
                            f" {other}")  # fmt: skip
        elif other["status"] == "error":
            if mine["errorType"] != other["errorType"]:
                problems.append(f"{where}: error type {mine} != {other}")
        else:
            ordered = path == "query" and expr.startswith(ORDERED)
            found = difference(mine["data"], other["data"], ordered)
            if found:
                problems.append(f"{where}: {found}")
    return problems


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 100


@pytest.mark.parametrize("expr", CORPUS)
def test_same_answer_as_prometheus(sides: Sides, expr: str) -> None:
    mid = str((sides.data.start_ms + sides.data.end_ms) // 2 // 1000)
    problems = compare(sides, expr.replace("{mid}", mid))
    assert not problems, "\n".join(problems)
