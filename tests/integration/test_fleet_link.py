"""A real server and real agents on loopback: enrollment, presence, revocation, outages."""

from __future__ import annotations

import itertools
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = pytest.mark.integration

HEARTBEAT = 1.0  # the server_process fixture runs with 1 s heartbeats and metrics


def node_named(client: httpx.Client, name: str) -> dict[str, Any] | None:
    items = client.get("/api/v1/nodes", params={"search": name}).json()["items"]
    return next((n for n in items if n["name"] == name), None)


def status_of(client: httpx.Client, name: str) -> str | None:
    node = node_named(client, name)
    return node["status"] if node else None


def start_agent(
    server: ServerProcess, client: httpx.Client, tmp_path: Path, name: str, **token: Any
) -> AgentProcess:
    token_secret = enrollment_token(client, name=f"for {name}", **token)
    return AgentProcess(server.url, tmp_path / name, enroll=token_secret, name=name).start()


def test_agent_online_then_offline_after_three_missed_heartbeats_then_same_node(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    client = server_process.client()
    agent = start_agent(server_process, client, tmp_path, "node-a")
    try:
        # Enrollment plus process start take a moment; from the first hello, two heartbeats.
        wait_for(lambda: node_named(client, "node-a"), timeout=20, what="enrollment")
        first_seen = time.monotonic()
        wait_for(
            lambda: status_of(client, "node-a") == "online",
            timeout=2 * HEARTBEAT + 1,
            what="online within 2 heartbeats",
        )
        assert time.monotonic() - first_seen <= 2 * HEARTBEAT + 1
        node_id = node_named(client, "node-a")["id"]  # type: ignore[index]

        agent.stop(signal.SIGKILL)
        killed = time.monotonic()
        wait_for(
            lambda: status_of(client, "node-a") == "offline",
            timeout=10,
            what="offline after the agent died",
        )
        took = time.monotonic() - killed
        assert 3 * HEARTBEAT - 1 <= took <= 3 * HEARTBEAT + 2.5, took

        agent.enroll = None  # the state dir holds the credential now
        agent.start()
        wait_for(
            lambda: status_of(client, "node-a") == "online",
            timeout=15,
            what="back online after restart",
        )
        nodes = client.get("/api/v1/nodes").json()["items"]
        assert [n["id"] for n in nodes if n["name"] == "node-a"] == [node_id]
        events = client.get("/api/v1/events", params={"node_id": node_id, "kind": "status"}).json()[
            "items"
        ]
        transitions = [(e["data"]["old"], e["data"]["new"]) for e in reversed(events)]
        assert ("online", "offline") in transitions or ("degraded", "offline") in transitions
        assert transitions[-1][1] == "online"
    finally:
        agent.stop()


def test_revoked_agent_is_disconnected_and_refused(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    client = server_process.client()
    agent = start_agent(server_process, client, tmp_path, "node-r")
    try:
        wait_for(lambda: status_of(client, "node-r") == "online", timeout=20, what="online")
        node_id = node_named(client, "node-r")["id"]  # type: ignore[index]
        response = client.post(f"/api/v1/nodes/{node_id}/revoke")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "revoked"
        # A permanent refusal makes the agent exit instead of retrying forever.
        assert agent.proc is not None
        code = agent.proc.wait(timeout=20)
        assert code != 0
        assert "revoked" in agent.log()
        agent.enroll = None
        agent.start()
        assert agent.proc.wait(timeout=20) != 0  # type: ignore[union-attr]
        assert status_of(client, "node-r") == "revoked"
        assert client.post(f"/api/v1/nodes/{node_id}/ping").json()["ok"] is False
    finally:
        agent.stop()


def test_config_pushed_live_changes_the_agent_interval(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    client = server_process.client()
    agent = start_agent(server_process, client, tmp_path, "node-c")
    try:
        wait_for(lambda: status_of(client, "node-c") == "online", timeout=20, what="online")
        node_id = node_named(client, "node-c")["id"]  # type: ignore[index]
        response = client.put(f"/api/v1/nodes/{node_id}/config", json={"metrics_interval": 3})
        assert response.status_code == 200, response.text
        assert response.json()["config"]["metrics_interval"] == 3
        changed_at = time.time() * 1000
        time.sleep(10)

        def timestamps() -> list[int]:
            window = client.get(
                f"/api/v1/nodes/{node_id}/metrics", params={"name": "host_load1", "since": 60}
            ).json()
            return [ts for ts, _ in window["series"][0]["points"]]

        after = [ts for ts in timestamps() if ts > changed_at + 3000]
        assert len(after) >= 2
        assert {b - a for a, b in itertools.pairwise(after)} == {3000}
        assert agent.proc is not None
        assert agent.proc.poll() is None
    finally:
        agent.stop()


def test_no_sample_lost_while_the_server_is_down_for_a_minute(
    server_process: ServerProcess, tmp_path: Path
) -> None:
    client = server_process.client()
    agent = start_agent(server_process, client, tmp_path, "node-o")
    try:
        wait_for(lambda: status_of(client, "node-o") == "online", timeout=20, what="online")
        node_id = node_named(client, "node-o")["id"]  # type: ignore[index]
        time.sleep(3)
        server_process.stop()
        stopped_ms = time.time() * 1000
        time.sleep(60)
        server_process.start()
        restarted_ms = time.time() * 1000
        client = server_process.client()

        def caught_up() -> list[int] | None:
            window = client.get(
                f"/api/v1/nodes/{node_id}/metrics", params={"name": "host_load1", "since": 300}
            ).json()
            if not window["series"]:
                return None
            ts = [t for t, _ in window["series"][0]["points"]]
            return ts if ts and ts[-1] >= restarted_ms + 2000 else None

        ts = wait_for(caught_up, timeout=30, what="the spool to drain")
        # Every second from before the outage to now, without a hole.
        outage = [t for t in ts if stopped_ms <= t <= restarted_ms]
        assert len(outage) >= 59, f"only {len(outage)} samples cover the 60 s outage"
        assert ts[0] <= stopped_ms + 1000, "samples from the start of the outage are missing"
        gaps = [(a, b) for a, b in itertools.pairwise(ts) if b - a != 1000]
        assert gaps == [], f"holes in the samples: {gaps[:5]}"
    finally:
        agent.stop()
