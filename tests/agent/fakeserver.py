"""A test double of the opsplane server: real HTTP enrollment and the real link protocol.

Starlette under uvicorn on a loopback port, like the real server, with knobs the tests
turn: hold acks, refuse links, push commands, drop every link, stop and start again. The
upload API of the heap-dump pipeline is served by `FakeUploads` (tests/agent/fakeuploads.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from opsplane.protocol import SUPPORTED_PROTOCOL_VERSIONS
from opsplane.protocol.codec import decode, encode
from opsplane.protocol.commands import Command, Result
from opsplane.protocol.files import FileBatch, FileNotice
from opsplane.protocol.session import AgentConfig, Heartbeat, Hello, Refuse, Welcome
from opsplane.protocol.telemetry import Ack, EventBatch, MetricBatch
from tests.agent.fakeuploads import FakeUploads

Batch = MetricBatch | EventBatch | FileBatch


@dataclass
class FakeNode:
    node_id: str
    name: str
    credential: str
    acked: dict[str, int] = field(default_factory=dict)
    hellos: list[Hello] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    metric_batches: list[MetricBatch] = field(default_factory=list)
    event_batches: list[EventBatch] = field(default_factory=list)
    file_batches: list[FileBatch] = field(default_factory=list)
    received: list[Batch] = field(default_factory=list)  # acked or not
    ws: WebSocket | None = None

    @property
    def notices(self) -> list[FileNotice]:
        return [notice for batch in self.file_batches for notice in batch.notices]


class FakeServer:
    """Enrollment at /api/v1/agents/register, the link at /api/v1/agent/link."""

    def __init__(self, config: AgentConfig | None = None, port: int | None = None) -> None:
        self.config = config or AgentConfig(heartbeat_interval=0.2, metrics_interval=0.2)
        self.port = port or free_port()
        self.tokens = {"good-token"}
        self.nodes: dict[str, FakeNode] = {}
        self.registrations = 0
        self.links_opened = 0
        self.hold_acks = False  # store nothing and ack nothing (a server in trouble)
        self.refuse: tuple[Refuse, int] | None = None  # refuse every link: (frame, close code)
        self.close_after_hello: int | None = None  # close with this code, no refuse frame
        self.uploads = FakeUploads(self._node_id_for)
        self._ids = itertools.count(1)
        self._results: dict[str, asyncio.Future[Result]] = {}
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/api/v1/agents/register", self._register, methods=["POST"]),
                WebSocketRoute("/api/v1/agent/link", self._link),
                *self.uploads.routes(),
            ]
        )
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            ws_per_message_deflate=False,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        self._server = self._task = None
        for node in self.nodes.values():
            node.ws = None

    # What tests look at ------------------------------------------------------------------

    def only_node(self) -> FakeNode:
        assert len(self.nodes) == 1, list(self.nodes)
        return next(iter(self.nodes.values()))

    def add_node(self, name: str = "pre-enrolled") -> FakeNode:
        node = FakeNode(f"node-{next(self._ids)}", name, secrets.token_urlsafe(16))
        self.nodes[node.credential] = node
        return node

    async def command(
        self, node: FakeNode, name: str, args: dict[str, Any] | None = None, deadline: float = 0.0
    ) -> Result:
        assert node.ws is not None, "node not connected"
        frame_id = f"cmd-{next(self._ids)}"
        future = self._results[frame_id] = asyncio.get_running_loop().create_future()
        await node.ws.send_bytes(
            encode("command", Command(name, args or {}, deadline), frame_id=frame_id)
        )
        async with asyncio.timeout(5):
            return await future

    async def drop_links(self, code: int = 1012) -> None:
        for node in self.nodes.values():
            if node.ws is not None:
                with contextlib.suppress(Exception):
                    await node.ws.close(code)

    def _node_id_for(self, credential: str) -> str | None:
        node = self.nodes.get(credential)
        return node.node_id if node else None

    # Routes --------------------------------------------------------------------------------

    async def _register(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("token") not in self.tokens:
            return _error(401, "enrollment_token_invalid", "enrollment token is not valid")
        if any(node.name == body.get("name") for node in self.nodes.values()):
            return _error(409, "node_name_taken", f"a node named {body['name']} exists")
        self.registrations += 1
        node = self.add_node(body["name"])
        return JSONResponse(
            {"node_id": node.node_id, "node_name": node.name, "credential": node.credential},
            status_code=201,
        )

    async def _link(self, ws: WebSocket) -> None:
        header = ws.headers.get("authorization", "")
        node = self.nodes.get(header.removeprefix("Bearer "))
        await ws.accept()
        self.links_opened += 1
        try:
            frame, hello = decode(await ws.receive_bytes())
            assert frame.type == "hello", frame.type
            if self.close_after_hello is not None:
                await ws.close(self.close_after_hello)
                return
            refusal = self._refusal(node, hello)
            if refusal is not None:
                await ws.send_bytes(encode("refuse", refusal[0]))
                await ws.close(refusal[1], refusal[0].code)
                return
            assert node is not None
            node.hellos.append(hello)
            node.ws = ws
            welcome = Welcome(node.node_id, node.name, "fake", self.config, dict(node.acked))
            await ws.send_bytes(encode("welcome", welcome))
            while True:
                frame, body = decode(await ws.receive_bytes())
                await self._dispatch(node, ws, frame.id, body)
        except WebSocketDisconnect:
            pass
        finally:
            if node is not None and node.ws is ws:
                node.ws = None

    def _refusal(self, node: FakeNode | None, hello: Hello) -> tuple[Refuse, int] | None:
        if hello.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
            return Refuse("protocol_version", "upgrade the agent", permanent=True), 4400
        if node is None:
            return Refuse("bad_credential", "unknown agent credential", permanent=True), 4401
        return self.refuse

    async def _dispatch(
        self, node: FakeNode, ws: WebSocket, frame_id: str | None, body: Any
    ) -> None:
        if isinstance(body, Heartbeat):
            node.heartbeats.append(body)
            await ws.send_bytes(encode("ack", Ack("heartbeat", body.seq)))
        elif isinstance(body, (MetricBatch, EventBatch, FileBatch)):
            await self._store(node, ws, body)
        elif isinstance(body, Result):
            future = self._results.pop(frame_id or "", None)
            if future is not None and not future.done():
                future.set_result(body)

    async def _store(self, node: FakeNode, ws: WebSocket, batch: Batch) -> None:
        node.received.append(batch)
        if self.hold_acks:
            return
        stream, target = {
            MetricBatch: ("metrics", node.metric_batches),
            EventBatch: ("events", node.event_batches),
            FileBatch: ("files", node.file_batches),
        }[type(batch)]
        # Like the real server: a batch at or below the acked seq is a duplicate.
        if batch.seq > node.acked.get(stream, 0):
            target.append(batch)  # type: ignore[attr-defined]
            node.acked[stream] = batch.seq
        await ws.send_bytes(encode("ack", Ack(stream, batch.seq)))


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(predicate: Callable[[], object], within: float = 5.0) -> None:
    """Poll `predicate` until it is truthy; fail the test after `within` seconds."""
    async with asyncio.timeout(within):
        # Polling is the point: the conditions are plain attributes, not events.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
