"""`/api/v1/ui/stream`: the browser's live-update WebSocket (session cookie or bearer)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from opsplane.server.auth.service import principal_from_credentials
from opsplane.server.context import ServerContext
from opsplane.server.deps import bearer_or_cookie, public
from opsplane.server.stream.hub import StreamClient

router = APIRouter(tags=["stream"])


def _topics(message: Any) -> list[str]:
    topics = message.get("subscribe") if isinstance(message, dict) else None
    if not isinstance(topics, list):
        return []
    return [t for t in topics if isinstance(t, str) and 0 < len(t) <= 128]


@router.websocket("/ui/stream")
@public
async def ui_stream(ws: WebSocket) -> None:
    """Send `{"subscribe": ["fleet", "node:<id>"]}`; receive `{"topic", "data"}` snapshots."""
    ctx: ServerContext = ws.app.state.ctx
    credential = bearer_or_cookie(ws)
    async with ctx.db.sessions() as session:
        principal = (
            await principal_from_credentials(session, credential=credential, key=ctx.signing_key)
            if credential
            else None
        )
    await ws.accept()
    if principal is None:
        await ws.close(4401, "authentication required")
        return
    client = StreamClient(ws)
    ctx.stream.clients.add(client)
    pump = asyncio.create_task(client.pump())
    try:
        while True:
            message = await ws.receive_json()
            if isinstance(message, dict) and message.get("unsubscribe"):
                client.topics.difference_update(_topics({"subscribe": message["unsubscribe"]}))
            await ctx.stream.subscribe(client, _topics(message))
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        ctx.stream.clients.discard(client)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
