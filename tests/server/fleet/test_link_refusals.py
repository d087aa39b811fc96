"""The link refuses what it must, clearly: wrong credential, wrong protocol, bad frames."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from opsplane.protocol import PROTOCOL_VERSION, codec
from opsplane.protocol.session import Hello
from tests.protocol.test_codec import INVENTORY
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.integration


def link_url(server: ServerProcess) -> str:
    return server.url.replace("http", "ws") + "/api/v1/agent/link"


async def register(server: ServerProcess, name: str) -> str:
    client = server.client()
    token = client.post("/api/v1/agents/enrollment-tokens", json={"max_uses": 1}).json()["token"]
    response = client.post(
        "/api/v1/agents/register", json={"token": token, "name": name, "inventory": {}}
    )
    assert response.status_code == 201, response.text
    credential: str = response.json()["credential"]
    return credential


async def refusal(server: ServerProcess, credential: str, hello: bytes) -> tuple[dict, int]:
    async with websockets.connect(
        link_url(server), additional_headers={"Authorization": f"Bearer {credential}"}
    ) as ws:
        await ws.send(hello)
        frame = json.loads(await ws.recv())
        with pytest.raises(ConnectionClosed):
            await ws.recv()
        assert ws.close_code is not None
        return frame, ws.close_code


def hello(version: int = PROTOCOL_VERSION) -> bytes:
    return codec.encode("hello", Hello(version, "9.9.9", INVENTORY))


async def test_incompatible_protocol_version_gets_a_permanent_refusal(
    server_process: ServerProcess,
) -> None:
    credential = await register(server_process, "old-agent")
    frame, code = await refusal(server_process, credential, hello(PROTOCOL_VERSION + 41))
    assert frame["type"] == "refuse"
    assert frame["body"]["code"] == "protocol_version"
    assert frame["body"]["permanent"] is True
    assert "upgrade the agent" in frame["body"]["message"]
    assert code == 4400


async def test_unknown_credential_is_refused(server_process: ServerProcess) -> None:
    frame, code = await refusal(server_process, "opa_deadbeef.nope", hello())
    assert frame["body"]["code"] == "bad_credential"
    assert code == 4401


async def test_garbage_instead_of_hello_is_refused(server_process: ServerProcess) -> None:
    credential = await register(server_process, "garbage")
    frame, code = await refusal(server_process, credential, b"\x00\x01 not a frame")
    assert frame["body"]["code"] == "bad_hello"
    assert code == 4400


async def test_bad_frames_after_hello_do_not_kill_the_link(server_process: ServerProcess) -> None:
    credential = await register(server_process, "noisy")
    async with websockets.connect(
        link_url(server_process), additional_headers={"Authorization": f"Bearer {credential}"}
    ) as ws:
        await ws.send(hello())
        assert json.loads(await ws.recv())["type"] == "welcome"
        await ws.send(b"{broken")
        await ws.send(b'{"type":"heartbeat","body":{"seq":5,"sent_at":1.0}}')
        ack = json.loads(await ws.recv())
        assert ack == {"type": "ack", "id": None, "body": {"stream": "heartbeat", "seq": 5}}
