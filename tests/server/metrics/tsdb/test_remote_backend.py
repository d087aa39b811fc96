"""The remote backend against a real Prometheus 2.42 (remote-write receiver on)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from opsplane.protocol.telemetry import MetricPoint
from opsplane.server.bus.subjects import NodeRef
from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.remote import RemoteStorage, selector
from opsplane.server.metrics.remote_write import TimeSeries
from opsplane.server.metrics.sink import TSDBSink
from opsplane.server.settings import Settings
from tests.support.prometheus import PrometheusServer

pytestmark = pytest.mark.integration


def remote_settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        metrics_backend="prometheus",
        metrics_remote_url=url,
        log_json=False,
    )


async def eventually(probe: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


@pytest.fixture
async def prometheus_server(tmp_path: Path) -> AsyncIterator[PrometheusServer]:
    server = PrometheusServer(tmp_path / "prometheus")
    await asyncio.to_thread(server.start)
    yield server
    await asyncio.to_thread(server.stop)


def test_selector_quotes_values() -> None:
    text = selector([LabelMatcher("__name__", "=", "up"), LabelMatcher("x", "=~", 'a"b\\.c')])
    assert text == '{__name__="up",x=~"a\\"b\\\\.c"}'


async def test_samples_reach_prometheus_and_queries_come_back(
    tmp_path: Path, prometheus_server: PrometheusServer
) -> None:
    storage = RemoteStorage(remote_settings(tmp_path, prometheus_server.url))
    await storage.start()
    try:
        now = int(time.time() * 1000)
        node = NodeRef("n1", "web-1", {"env": "prod"})
        await TSDBSink(storage).write(
            node,
            [
                MetricPoint("host_load1", {}, now - 2000, 0.5),
                MetricPoint("host_load1", {}, now - 1000, 0.75),
            ],
        )
        await storage.append(
            [
                TimeSeries.of(
                    {"__name__": "app_requests_total", "code": "200"},
                    [(now - 3000, 1.0), (now - 2000, 5.0)],
                )
            ]
        )
        load = [LabelMatcher("__name__", "=", "host_load1")]

        async def arrived() -> Any:
            found = await storage.select(load, now - 60_000, now)
            return found if found and len(found[0].timestamps) == 2 else None

        [series] = await eventually(arrived)
        assert series.labels == {
            "__name__": "host_load1",
            "env": "prod",
            "job": "opsplane-agent",
            "node": "web-1",
            "node_id": "n1",
        }
        assert series.timestamps.tolist() == [now - 2000, now - 1000]
        assert series.values.tolist() == [0.5, 0.75]
        assert "app_requests_total" in await storage.label_values("__name__", [], now - 60_000, now)
        assert await storage.series([load], now - 60_000, now) == [series.labels]
        data = await storage.query_backend.instant_query(  # type: ignore[union-attr]
            "sum(app_requests_total)", now / 1000, timeout_s=10
        )
        assert data["result"][0]["value"][1] == "5"
        # The fleet pages read the in-memory window, not the remote.
        [window] = TSDBSink(storage).window("n1", names=["host_load1"], since_ms=now - 60_000)
        assert window.points == [(now - 2000, 0.5), (now - 1000, 0.75)]
    finally:
        await storage.stop()


async def test_nothing_is_dropped_while_the_remote_is_down(tmp_path: Path) -> None:
    prometheus = PrometheusServer(tmp_path / "prometheus")  # not started yet
    settings = remote_settings(tmp_path, prometheus.url)
    now = int(time.time() * 1000)
    storage = RemoteStorage(settings)
    storage.queue.wal.segment_bytes = 500  # spill over many segments while it is down
    await storage.start()
    for i in range(50):
        await storage.append(
            [TimeSeries.of({"__name__": "queued_total"}, [(now - 50_000 + i * 1000, float(i))])]
        )
    await asyncio.sleep(1.5)
    await storage.stop()  # still undelivered: on disk only
    assert len(list((settings.data_dir / "remote-write").glob("*.wal"))) > 3
    await asyncio.to_thread(prometheus.start)
    restarted = RemoteStorage(settings)
    await restarted.start()
    try:

        async def delivered() -> Any:
            found = await restarted.select(
                [LabelMatcher("__name__", "=", "queued_total")], now - 60_000, now
            )
            return found if found and len(found[0].timestamps) == 50 else None

        [series] = await eventually(delivered, timeout=60)
        assert series.values.tolist() == [float(i) for i in range(50)]
        assert np.all(np.diff(series.timestamps) == 1000)
    finally:
        await restarted.stop()
        await asyncio.to_thread(prometheus.stop)


async def test_the_whole_server_writes_through_and_queries_the_remote(
    tmp_path: Path, prometheus_server: PrometheusServer
) -> None:
    from opsplane.server.app import create_app
    from opsplane.server.metrics.remote_write import HEADERS, WriteRequest, encode
    from tests.conftest import bearer
    from tests.support.processes import ADMIN_PASSWORD

    settings = Settings(
        data_dir=tmp_path / "server",
        metrics_backend="prometheus",
        metrics_remote_url=prometheus_server.url,
        log_json=False,
        admin_password=ADMIN_PASSWORD,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = await bearer(client, "admin", ADMIN_PASSWORD)
            now = int(time.time() * 1000)
            body = encode(
                WriteRequest([TimeSeries.of({"__name__": "through_total"}, [(now - 1000, 42.0)])])
            )
            written = await client.post(
                "/prometheus/api/v1/write", content=body, headers={**HEADERS, **headers}
            )
            assert written.status_code == 204

            async def answered() -> Any:
                response = await client.get(
                    "/prometheus/api/v1/query",
                    headers=headers,
                    params={"query": "through_total", "time": now / 1000},
                )
                assert response.status_code == 200, response.text
                result = response.json()["data"]["result"]
                return result if result else None

            result = await eventually(answered)
            assert result[0]["value"][1] == "42"
