"""The agent links this process holds: one WebSocket per connected node."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
from starlette.websockets import WebSocket, WebSocketState

from opsplane.protocol import codec
from opsplane.protocol.commands import Result
from opsplane.server.bus.subjects import NodeRef


class AgentLink:
    """One connected agent; `send` may be called from many tasks (frames never interleave)."""

    def __init__(self, ws: WebSocket, node: NodeRef, *, on_send: Callable[[str], None]) -> None:
        self.ws = ws
        self.node = node
        self.pending: dict[str, asyncio.Future[Result]] = {}
        self._lock = asyncio.Lock()
        self._on_send = on_send
        self.closed = False

    async def send(
        self, frame_type: str, body: msgspec.Struct, *, frame_id: str | None = None
    ) -> None:
        data = codec.encode(frame_type, body, frame_id=frame_id)
        async with self._lock:
            await self.ws.send_bytes(data)
        self._on_send(frame_type)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = True
        if self.ws.application_state == WebSocketState.CONNECTED:
            try:
                async with self._lock:
                    await self.ws.close(code, reason)
            except RuntimeError:  # already closing from the other side
                pass

    def fail_pending(self, reason: str) -> None:
        for future in self.pending.values():
            if not future.done():
                future.set_result(Result(ok=False, error=reason))
        self.pending.clear()


class LinkRegistry:
    def __init__(self) -> None:
        self._links: dict[str, AgentLink] = {}

    def add(self, link: AgentLink) -> AgentLink | None:
        """Register a link; returns the one it replaces (the caller closes it)."""
        previous = self._links.get(link.node.id)
        self._links[link.node.id] = link
        return previous

    def remove(self, link: AgentLink) -> bool:
        """Unregister `link` if it is still the node's current one."""
        if self._links.get(link.node.id) is link:
            del self._links[link.node.id]
            return True
        return False

    def get(self, node_id: str) -> AgentLink | None:
        return self._links.get(node_id)

    def node_ids(self) -> list[str]:
        return list(self._links)

    def __len__(self) -> int:
        return len(self._links)

    async def close_all(self, code: int, reason: str) -> None:
        await asyncio.gather(*(link.close(code, reason) for link in list(self._links.values())))
