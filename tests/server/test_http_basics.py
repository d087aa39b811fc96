"""Health, readiness, metrics exposition, security headers and the error envelope."""

from __future__ import annotations

import gc

import httpx


async def test_health_ready_and_metrics_need_no_login(app_client: httpx.AsyncClient) -> None:
    assert (await app_client.get("/healthz")).json()["status"] == "ok"
    ready = await app_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "bus": "ok"}
    await app_client.get("/api/v1/nodes")
    exposition = (await app_client.get("/metrics")).text
    assert 'opsplane_http_requests_total{method="GET",route="/api/v1/nodes",status="401"}' in (
        exposition
    )
    for name in (
        "opsplane_agents_connected",
        "opsplane_heartbeat_lag_seconds_bucket",
        "opsplane_http_request_duration_seconds_bucket",
    ):
        assert name in exposition


async def test_metrics_show_garbage_collector_pauses(app_client: httpx.AsyncClient) -> None:
    """A full collection stops every agent link: operators must see how long."""
    gc.collect()
    exposition = (await app_client.get("/metrics")).text
    counts = [
        line
        for line in exposition.splitlines()
        if line.startswith('opsplane_gc_pause_seconds_count{generation="2"}')
    ]
    assert counts
    assert float(counts[0].split()[-1]) >= 1


async def test_security_headers_on_every_response(app_client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/api/v1/nodes", "/"):
        headers = (await app_client.get(path)).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in headers["content-security-policy"]


async def test_malformed_json_gets_the_error_envelope(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await app_client.post(
        "/api/v1/users",
        headers={**admin_headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"]
    assert "Traceback" not in response.text


async def test_unknown_api_path_is_a_json_404_not_the_spa(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await app_client.get("/api/v1/nope", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    spa = await app_client.get("/nodes/abc")
    assert spa.status_code == 200
    assert spa.headers["content-type"].startswith("text/html")
