"""A real agent scrapes a real node_exporter its node's config lists; PromQL sees the series."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.env import free_port, require_binary
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[str]:
    binary = require_binary("prometheus-node-exporter")
    port = free_port()
    log = (tmp_path / "node_exporter.log").open("wb")
    proc = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--no-collector.systemd"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}/metrics"
    wait_for(lambda: _reachable(url), timeout=20, what="node_exporter")
    yield url
    proc.terminate()
    proc.wait(10)


def _reachable(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def query(client: httpx.Client, expr: str) -> list[dict]:
    body = client.get("/prometheus/api/v1/query", params={"query": expr}).json()
    assert body["status"] == "success", body
    result: list[dict] = body["data"]["result"]
    return result


def test_agent_forwards_what_it_scrapes(
    server_process: ServerProcess, node_exporter: str, tmp_path: Path
) -> None:
    client = server_process.client()
    agent = AgentProcess(
        server_process.url, tmp_path / "scraper", enroll=enrollment_token(client), name="scraper"
    ).start()
    try:
        node = wait_for(
            lambda: next(iter(client.get("/api/v1/nodes").json()["items"]), None),
            timeout=30,
            what="the node",
        )
        response = client.put(
            f"/api/v1/nodes/{node['id']}/config", json={"scrape_targets": [f"node={node_exporter}"]}
        )
        assert response.status_code == 200, response.text

        up = wait_for(lambda: query(client, 'up{job="node"}'), timeout=30, what="up")
        assert up[0]["metric"]["node"] == "scraper"
        assert up[0]["metric"]["instance"] == node_exporter.split("/")[2]
        assert up[0]["value"][1] == "1"
        cpu = query(client, 'count(node_cpu_seconds_total{job="node", node="scraper"})')
        assert int(cpu[0]["value"][1]) >= 2  # one per mode at least
        rate = wait_for(
            lambda: query(client, 'sum(rate(node_cpu_seconds_total{job="node"}[10s])) > 0'),
            timeout=30,
            what="a CPU rate over two scrapes",
        )
        assert float(rate[0]["value"][1]) > 0
        # The agent's own host metrics keep their job.
        assert query(client, 'host_load1{job="opsplane-agent", node="scraper"}')
    finally:
        agent.stop()
