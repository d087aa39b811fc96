"""Topic snapshots pushed to UI clients: at most one per topic per second.

Producers only `touch(topic)`; once a second the hub builds one snapshot per dirty topic
that somebody watches and hands it to each watcher. A slow browser never holds up others:
each client keeps only the newest snapshot per topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from starlette.websockets import WebSocket

log = structlog.get_logger(__name__)

SnapshotBuilder = Callable[[str], Awaitable[Any]]
MAX_TOPICS_PER_CLIENT = 64


class StreamClient:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.topics: set[str] = set()
        self.outbox: dict[str, Any] = {}
        self.wakeup = asyncio.Event()

    def offer(self, topic: str, snapshot: Any) -> None:
        self.outbox[topic] = snapshot  # newer replaces older: snapshots supersede each other
        self.wakeup.set()

    async def pump(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            outbox, self.outbox = self.outbox, {}
            for topic, data in outbox.items():
                await self.ws.send_json({"topic": topic, "data": data})


class StreamHub:
    def __init__(self, *, period: float = 1.0) -> None:
        self.period = period
        self.clients: set[StreamClient] = set()
        self.builders: dict[str, SnapshotBuilder] = {}
        self.dirty: set[str] = set()

    def register(self, prefix: str, builder: SnapshotBuilder) -> None:
        """`builder(topic)` makes the snapshot for `prefix` or `prefix:<arg>` topics."""
        self.builders[prefix] = builder

    def touch(self, topic: str) -> None:
        self.dirty.add(topic)

    def watched(self, topic: str) -> bool:
        return any(topic in c.topics for c in self.clients)

    async def build(self, topic: str) -> Any:
        builder = self.builders.get(topic.split(":", 1)[0])
        if builder is None:
            return {"error": f"unknown topic {topic!r}"}
        return await builder(topic)

    async def subscribe(self, client: StreamClient, topics: list[str]) -> None:
        for topic in topics:
            if len(client.topics) >= MAX_TOPICS_PER_CLIENT:
                break
            client.topics.add(topic)
            client.offer(topic, await self.build(topic))

    async def tick(self) -> None:
        dirty, self.dirty = self.dirty, set()
        for topic in dirty:
            watchers = [c for c in self.clients if topic in c.topics]
            if not watchers:
                continue
            snapshot = await self.build(topic)
            for client in watchers:
                client.offer(topic, snapshot)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.tick()
            except Exception:
                log.exception("stream tick failed")
