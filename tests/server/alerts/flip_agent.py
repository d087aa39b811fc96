"""A minimal agent speaking the real link protocol whose metric values the test controls.

Registers with an enrollment token, holds one WebSocket to `/api/v1/agent/link`, and sends
metric batches on demand (`push`) or every `interval` seconds (`run_ticker`), like a real
agent's collector would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import ClientConnection, connect

from opsplane.protocol import PROTOCOL_VERSION
from opsplane.protocol.codec import decode, encode
from opsplane.protocol.session import Hello, Welcome
from opsplane.protocol.telemetry import MetricBatch, MetricPoint
from opsplane.simulator.agent import fake_inventory


@dataclass
class FlipAgent:
    server_url: str
    enroll_token: str
    name: str
    values: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    node_id: str = ""
    acked: int = 0
    _ws: ClientConnection | None = None
    _seq: int = 0
    _reader: asyncio.Task[None] | None = None

    async def start(self) -> FlipAgent:
        async with httpx.AsyncClient(base_url=self.server_url, timeout=30) as client:
            response = await client.post(
                "/api/v1/agents/register",
                json={"token": self.enroll_token, "name": self.name, "inventory": {}},
            )
            response.raise_for_status()
            credential = response.json()["credential"]
        link = self.server_url.replace("http", "ws", 1) + "/api/v1/agent/link"
        self._ws = await connect(
            link, additional_headers={"Authorization": f"Bearer {credential}"}, compression=None
        )
        inventory = fake_inventory(self.name, 1)
        await self._ws.send(encode("hello", Hello(PROTOCOL_VERSION, "flip", inventory)))
        _, welcome = decode(await self._ws.recv(decode=False))
        assert isinstance(welcome, Welcome), welcome
        self.node_id = welcome.node_id
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._ws is not None
        with contextlib.suppress(Exception):
            async for raw in self._ws:
                _, body = decode(raw if isinstance(raw, bytes) else raw.encode())
                seq = getattr(body, "seq", None)
                if getattr(body, "stream", None) == "metrics" and isinstance(seq, int):
                    self.acked = max(self.acked, seq)

    def set(self, name: str, value: float, **labels: str) -> None:
        self.values[(name, tuple(sorted(labels.items())))] = value

    async def push(self) -> float:
        """Send every current value as one batch; returns the send time (time.time())."""
        assert self._ws is not None
        self._seq += 1
        now = time.time()
        points = tuple(
            MetricPoint(name, dict(labels), int(now * 1000), value)
            for (name, labels), value in self.values.items()
        )
        await self._ws.send(encode("metrics", MetricBatch(self._seq, self._seq, points)))
        return now

    async def run_ticker(self, interval: float) -> None:
        """Push the current values every `interval` seconds (a collector's schedule)."""
        while True:
            await self.push()
            await asyncio.sleep(interval)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._ws is not None:
            await self._ws.close()
