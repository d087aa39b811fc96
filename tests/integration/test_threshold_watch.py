"""A real agent reports a threshold crossing between its metrics ticks (threshold watches).

The node's metrics interval is 60 s, so a sample stamped off the minute can only come from
a threshold check; the alert fires from it and the webhook is called.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.alerts.receiver import Receiver
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = pytest.mark.integration

TICK = 60.0


def flip_samples(client: httpx.Client) -> list[tuple[float, float]]:
    """(timestamp, value) of every `flip` sample of the last 2 minutes."""
    body = client.get("/prometheus/api/v1/query", params={"query": "flip[2m]"}).json()
    assert body["status"] == "success", body
    return [(float(t), float(v)) for r in body["data"]["result"] for t, v in r["values"]]


def off_tick(samples: list[tuple[float, float]]) -> list[float]:
    """Values of samples not on a 60 s tick: the ones threshold checks sent."""
    return [v for t, v in samples if round(t * 1000) % round(TICK * 1000)]


def statuses(hook: Receiver) -> list[str]:
    with hook.lock:
        return [r.json()["status"] for r in hook.requests]


def firing(client: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/alerts", params={"state": "firing"}).json()[
        "items"
    ]
    return items


def test_a_crossing_is_reported_between_ticks_and_only_crossings_are(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    exporter, hook = Receiver(exposition="flip 0\n").start(), Receiver().start()
    client = server_process.client()
    agent: AgentProcess | None = None
    try:
        client.post(
            "/api/v1/alerts/channels", json={"name": "hook", "type": "webhook", "url": hook.url}
        ).raise_for_status()
        client.post(
            "/api/v1/alerts/rules/threshold",
            json={"name": "Flipped", "metric": "flip", "operator": ">", "threshold": 0},
        ).raise_for_status()
        agent = AgentProcess(
            server_process.url, tmp_path / "a", enroll=enrollment_token(client), name="a"
        ).start()
        node: dict[str, Any] = wait_for(
            lambda: next(iter(client.get("/api/v1/nodes").json()["items"]), None),
            timeout=30,
            what="the node",
        )
        client.put(
            f"/api/v1/nodes/{node['id']}/config",
            json={"metrics_interval": TICK, "scrape_targets": [f"flip={exporter.url}/metrics"]},
        ).raise_for_status()
        # The first check scrapes the new target and reports the series once (first sight).
        wait_for(lambda: off_tick(flip_samples(client)) == [0.0], timeout=20, what="first sight")

        exporter.exposition = "flip 1\n"
        flipped = time.time()
        wait_for(lambda: "firing" in statuses(hook), timeout=20, what="the firing webhook")
        fired = time.time()
        assert off_tick(flip_samples(client)) == [0.0, 1.0]
        # Steady on its side: the checks keep sampling but send nothing more.
        time.sleep(2)
        assert off_tick(flip_samples(client)) == [0.0, 1.0]

        exporter.exposition = "flip 0\n"
        # Resolved at once (its notification waits for the group interval, 5 min here).
        wait_for(lambda: firing(client) == [], timeout=20, what="the alert resolved")
        assert off_tick(flip_samples(client)) == [0.0, 1.0, 0.0]
        # Context for a failure, not a timing assertion: checks run every 0.25 s by default.
        print(f"flip -> firing webhook {fired - flipped:.3f} s")
    finally:
        if agent is not None:
            agent.stop()
        exporter.stop()
        hook.stop()
