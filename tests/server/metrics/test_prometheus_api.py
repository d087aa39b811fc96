"""The Prometheus HTTP API in-process: envelope, GET and POST form, errors, metadata queries."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import httpx
import pytest

from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode
from tests.conftest import bearer

API = "/prometheus/api/v1"
NOW_MS = (int(time.time()) // 60) * 60_000


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: this module tests the HTTP layer, not the database."""
    return f"sqlite:///{tmp_path / 'opsplane.db'}"


@pytest.fixture
async def viewer(app_client: httpx.AsyncClient, admin_headers: dict[str, str]) -> dict[str, str]:
    body = {"username": "grafana", "password": "viewer-password", "role": "viewer"}
    response = await app_client.post("/api/v1/users", headers=admin_headers, json=body)
    assert response.status_code == 201, response.text
    samples = [(NOW_MS - 60_000 + i * 15_000, float(i)) for i in range(5)]
    request = WriteRequest(
        [
            TimeSeries.of({"__name__": "probe", "job": "api", "instance": i}, samples)
            for i in ("a", "b")
        ]
    )
    response = await app_client.post(
        f"{API}/write", content=encode(request), headers={**admin_headers, **HEADERS}
    )
    assert response.status_code == 204, response.text
    return await bearer(app_client, "grafana", "viewer-password")


async def test_instant_query_get_and_post_form(
    app_client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    params = {"query": "sum by (job) (probe)", "time": str(NOW_MS / 1000)}
    got = await app_client.get(f"{API}/query", params=params, headers=viewer)
    posted = await app_client.post(f"{API}/query", data=params, headers=viewer)
    assert got.status_code == posted.status_code == 200
    assert (
        got.json()
        == posted.json()
        == {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": {"job": "api"}, "value": [NOW_MS // 1000, "8"]}],
            },
        }
    )


async def test_range_query(app_client: httpx.AsyncClient, viewer: dict[str, str]) -> None:
    params = {"query": 'probe{instance="a"}', "start": str((NOW_MS - 30_000) / 1000),
              "end": str(NOW_MS / 1000), "step": "15s"}  # fmt: skip
    body = (await app_client.post(f"{API}/query_range", data=params, headers=viewer)).json()
    assert body["data"]["resultType"] == "matrix"
    assert [v for _, v in body["data"]["result"][0]["values"]] == ["2", "3", "4"]


ERRORS = [
    ("query", {"query": "sum("}, 400, "bad_data", 'invalid parameter "query": parse error'),
    ("query", {"query": "up", "time": "soon"}, 400, "bad_data", 'invalid parameter "time"'),
    ("query", {"query": "up", "timeout": "x"}, 400, "bad_data", 'invalid parameter "timeout"'),
    # Pinned to the samples' time: a long test run imports this module long before it runs.
    ("query", {"query": 'label_replace(probe, "instance", "x", "", "")',
               "time": str(NOW_MS / 1000)}, 422, "execution", "same labelset"),
    ("query_range", {"query": "up", "start": "1", "end": "0", "step": "1"}, 400, "bad_data",
     "end timestamp must not be before start time"),
    ("query_range", {"query": "up", "start": "0", "end": "1", "step": "0"}, 400, "bad_data",
     "zero or negative"),
    ("query_range", {"query": "up", "start": "0", "end": "100000", "step": "1"}, 400,
     "bad_data", "11,000 points"),
    ("query_range", {"query": "up[5m]", "start": "0", "end": "1", "step": "1"}, 400,
     "bad_data", "invalid expression type"),
    ("query_range", {"query": "up", "end": "1", "step": "1"}, 400, "bad_data",
     'invalid parameter "start"'),
    ("series", {}, 400, "bad_data", "no match[] parameter provided"),
    ("labels", {"match[]": "rate(up[5m])"}, 400, "bad_data", 'invalid parameter "match[]"'),
    ("label/0bad/values", {}, 400, "bad_data", "invalid label name"),
]  # fmt: skip
"""(path, params, status, errorType, part of the message) of refused requests."""


async def test_errors_use_prometheus_envelope_and_codes(
    app_client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    # One app for every case: setting one up (users, argon2) costs seconds.
    for path, params, status, error_type, message in ERRORS:
        response = await app_client.get(f"{API}/{path}", params=params, headers=viewer)
        assert response.status_code == status, (path, params, response.text)
        body = response.json()
        assert body["status"] == "error"
        assert body["errorType"] == error_type
        assert message in body["error"], (path, params, body)


async def test_labels_values_and_series(
    app_client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    labels = (await app_client.get(f"{API}/labels", headers=viewer)).json()["data"]
    assert {"__name__", "instance", "job"} <= set(labels)
    values = await app_client.get(f"{API}/label/instance/values", headers=viewer,
                                  params={"match[]": "probe"})  # fmt: skip
    assert values.json() == {"status": "success", "data": ["a", "b"]}
    series = await app_client.post(f"{API}/series", data={"match[]": 'probe{instance="b"}'},
                                   headers=viewer)  # fmt: skip
    assert series.json()["data"] == [{"__name__": "probe", "instance": "b", "job": "api"}]


async def test_buildinfo_metadata_format_and_exemplars(
    app_client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    info = (await app_client.get(f"{API}/status/buildinfo", headers=viewer)).json()
    assert info["data"]["version"].startswith("2.")
    meta = (await app_client.get(f"{API}/metadata", headers=viewer)).json()
    assert meta == {"status": "success", "data": {}}
    formatted = await app_client.post(f"{API}/format_query", data={"query": "sum(up)by(job)"},
                                      headers=viewer)  # fmt: skip
    assert formatted.json()["data"] == "sum by (job) (up)"
    exemplars = await app_client.get(f"{API}/query_exemplars", params={"query": "up"},
                                     headers=viewer)  # fmt: skip
    assert exemplars.json() == {"status": "success", "data": []}


async def test_basic_credentials_carry_a_token(
    app_client: httpx.AsyncClient, viewer: dict[str, str]
) -> None:
    token = viewer["Authorization"].removeprefix("Bearer ")
    basic = base64.b64encode(f"anyone:{token}".encode()).decode()
    response = await app_client.get(f"{API}/query", params={"query": "1"},
                                    headers={"Authorization": f"Basic {basic}"})  # fmt: skip
    assert response.status_code == 200
    wrong = base64.b64encode(b"anyone:not-a-token").decode()
    response = await app_client.get(f"{API}/query", params={"query": "1"},
                                    headers={"Authorization": f"Basic {wrong}"})  # fmt: skip
    assert response.status_code == 401


async def test_unauthenticated_queries_are_refused(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get(f"{API}/query", params={"query": "1"})
    assert response.status_code == 401
