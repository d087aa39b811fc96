"""The browser's live stream: authenticated, per-topic snapshots, pushed when things change."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.support.processes import ServerProcess, login

pytestmark = pytest.mark.integration


def stream_url(server: ServerProcess) -> str:
    return server.url.replace("http", "ws") + "/api/v1/ui/stream"


async def next_on(ws: Any, topic: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), deadline - time.monotonic()))
        if message["topic"] == topic:
            data: dict[str, Any] = message["data"]
            return data


async def test_stream_refuses_anonymous_clients(server_process: ServerProcess) -> None:
    async with websockets.connect(stream_url(server_process)) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code == 4401


async def test_fleet_topic_follows_enrollment_and_labels(server_process: ServerProcess) -> None:
    token = login(server_process.url)
    client = server_process.client(token)
    headers = {"Cookie": f"opsplane_session={token}"}
    async with websockets.connect(stream_url(server_process), additional_headers=headers) as ws:
        await ws.send(json.dumps({"subscribe": ["fleet"]}))
        first = await next_on(ws, "fleet")
        assert first["summary"]["total"] == 0

        secret = client.post("/api/v1/agents/enrollment-tokens", json={}).json()["token"]
        node = client.post(
            "/api/v1/agents/register", json={"token": secret, "name": "streamed", "inventory": {}}
        ).json()
        update = await next_on(ws, "fleet")
        assert update["summary"]["total"] == 1
        assert update["events"][0]["node_name"] == "streamed"

        await ws.send(json.dumps({"subscribe": [f"node:{node['node_id']}"]}))
        detail = await next_on(ws, f"node:{node['node_id']}")
        assert detail["node"]["name"] == "streamed"
        assert detail["connected"] is False
        client.patch(f"/api/v1/nodes/{node['node_id']}", json={"labels": {"env": "prod"}})
        relabelled = await next_on(ws, f"node:{node['node_id']}")
        assert relabelled["node"]["labels"] == {"env": "prod"}
