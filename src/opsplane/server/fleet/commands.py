"""Request/response commands to agents over their links, with ids and deadlines."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from opsplane.protocol.commands import Command, Result
from opsplane.server.errors import Unavailable
from opsplane.server.fleet.links import LinkRegistry


class NodeOffline(Unavailable):
    code = "node_offline"


class CommandTimeout(Unavailable):
    status = 504
    code = "command_timeout"


class CommandDispatcher:
    def __init__(self, links: LinkRegistry, *, default_timeout: float) -> None:
        self.links = links
        self.default_timeout = default_timeout

    async def send(
        self,
        node_id: str,
        name: str,
        args: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,
    ) -> Result:
        """Send a command and wait for its result; NodeOffline / CommandTimeout otherwise."""
        link = self.links.get(node_id)
        if link is None or link.closed:
            raise NodeOffline(f"node {node_id} is not connected")
        timeout = timeout or self.default_timeout
        command_id = uuid.uuid4().hex
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        link.pending[command_id] = future
        try:
            # asyncio.timeout, not wait_for: no extra task per command when thousands are sent.
            async with asyncio.timeout(timeout):
                await link.send(
                    "command", Command(name, args or {}, time.time() + timeout), frame_id=command_id
                )
                return await future
        except TimeoutError:
            raise CommandTimeout(
                f"node {node_id} did not answer {name!r} within {timeout:g} s"
            ) from None
        finally:
            link.pending.pop(command_id, None)

    def resolve(self, node_id: str, command_id: str | None, result: Result) -> bool:
        """Hand a result frame to whoever waits for it; False if nobody does (late or unknown)."""
        link = self.links.get(node_id)
        future = link.pending.get(command_id or "") if link else None
        if future is None or future.done():
            return False
        future.set_result(result)
        return True

    async def ping(self, node_id: str, *, timeout: float | None = None) -> float:
        """Round trip in seconds."""
        started = time.perf_counter()
        result = await self.send(node_id, "ping", {"sent_at": time.time()}, timeout=timeout)
        if not result.ok:
            raise Unavailable(f"ping failed: {result.error}", code="command_failed")
        return time.perf_counter() - started
