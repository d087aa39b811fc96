"""`POST /prometheus/api/v1/write` in the whole app: status codes, auth, nothing half-written."""

from __future__ import annotations

import random
import time

import httpx
import pytest

from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode
from tests.conftest import bearer

URL = "/prometheus/api/v1/write"


def body(*series: TimeSeries) -> bytes:
    return encode(WriteRequest(list(series)))


async def stored(client: httpx.AsyncClient, name: str) -> list[list[int]]:
    tsdb = client.app.state.ctx.tsdb  # type: ignore[attr-defined]
    found = await tsdb.select([LabelMatcher("__name__", "=", name)], 0, 2**62)
    return [s.timestamps.tolist() for s in found]


async def test_valid_bodies_are_stored_first_slow_then_fast(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    now = int(time.time() * 1000)
    headers = {**HEADERS, **admin_headers}
    for i in range(3):
        sent = body(TimeSeries.of({"__name__": "rw_test", "job": "x"}, [(now + i, float(i))]))
        response = await app_client.post(URL, content=sent, headers=headers)
        assert response.status_code == 204, response.text
    assert await stored(app_client, "rw_test") == [[now, now + 1, now + 2]]
    ingest = app_client.app.state.ctx.tsdb.remote_writes  # type: ignore[attr-defined]
    assert ingest.slow_bodies == 1
    assert ingest.fast_bodies == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not snappy at all", "undecodable"),
        (b"\x05\x10garbage", "undecodable"),
    ],
)
async def test_undecodable_bodies_are_refused_with_400(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str], content: bytes, message: str
) -> None:
    response = await app_client.post(URL, content=content, headers={**HEADERS, **admin_headers})
    assert response.status_code == 400
    assert message in response.text


async def test_an_invalid_series_refuses_the_whole_request(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    now = int(time.time() * 1000)
    sent = body(
        TimeSeries.of({"__name__": "good_metric"}, [(now, 1.0)]),
        TimeSeries.of({"__name__": "bad metric"}, [(now, 1.0)]),
    )
    response = await app_client.post(URL, content=sent, headers={**HEADERS, **admin_headers})
    assert response.status_code == 400
    assert "invalid metric name" in response.text
    assert await stored(app_client, "good_metric") == []  # nothing half-written
    sent = body(TimeSeries.of({"__name__": "ok", "bad-label": "v"}, [(now, 1.0)]))
    response = await app_client.post(URL, content=sent, headers={**HEADERS, **admin_headers})
    assert response.status_code == 400
    assert "invalid label name" in response.text


async def test_writers_need_the_operator_role(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    sent = body(TimeSeries.of({"__name__": "x"}, [(1, 1.0)]))
    assert (await app_client.post(URL, content=sent, headers=dict(HEADERS))).status_code == 401
    created = await app_client.post(
        "/api/v1/users",
        json={"username": "watcher", "password": "watcher-pass-123"},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    viewer = await bearer(app_client, "watcher", "watcher-pass-123")
    response = await app_client.post(URL, content=sent, headers={**HEADERS, **viewer})
    assert response.status_code == 403


async def test_a_big_body_is_unpacked_off_the_event_loop_and_stored(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    now = int(time.time() * 1000)
    rng = random.Random(5)
    many = [
        TimeSeries.of(
            {"__name__": "big_body", "id": f"{rng.getrandbits(64):016x}"}, [(now, rng.random())]
        )
        for _ in range(10_000)
    ]
    sent = body(*many)
    assert len(sent) > 256 << 10
    response = await app_client.post(URL, content=sent, headers={**HEADERS, **admin_headers})
    assert response.status_code == 204, response.text
    assert len(await stored(app_client, "big_body")) == 10_000
