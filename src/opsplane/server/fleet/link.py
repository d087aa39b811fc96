"""The agent link endpoint: authenticate, hello/welcome, then serve frames until it closes.

Each link is one coroutine (no thread per agent). Batches are published on the bus and acked
to the agent only once the bus has accepted them, so an acked sample is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket
from sqlalchemy import update
from starlette.websockets import WebSocketDisconnect

from opsplane import __version__
from opsplane.protocol import SUPPORTED_PROTOCOL_VERSIONS, codec
from opsplane.protocol.commands import Result
from opsplane.protocol.files import FileBatch
from opsplane.protocol.session import Heartbeat, Hello, Refuse, Welcome
from opsplane.protocol.telemetry import Ack, EventBatch, MetricBatch
from opsplane.server.bus.subjects import (
    INGEST_EVENTS,
    INGEST_FILES,
    INGEST_METRICS,
    IngestEvents,
    IngestFiles,
    IngestMetrics,
    NodeRef,
)
from opsplane.server.context import ServerContext
from opsplane.server.deps import bearer_or_cookie, public
from opsplane.server.fleet.enrollment import node_for_credential
from opsplane.server.fleet.links import AgentLink
from opsplane.server.fleet.models import Node, NodeStatus
from opsplane.server.fleet.service import effective_config

log = structlog.get_logger(__name__)
router = APIRouter(tags=["fleet"])

HELLO_TIMEOUT = 10.0
CLOSE_PROTOCOL, CLOSE_CREDENTIAL, CLOSE_REVOKED, CLOSE_REPLACED = 4400, 4401, 4403, 4409


class _Refused(Exception):
    def __init__(self, close_code: int, refuse: Refuse) -> None:
        self.close_code, self.refuse = close_code, refuse


async def _refuse(ws: WebSocket, error: _Refused) -> None:
    await ws.send_bytes(codec.encode("refuse", error.refuse))
    await ws.close(error.close_code, error.refuse.code)


async def receive_frame_data(ws: WebSocket) -> bytes | str:
    """The next frame's payload, binary or text (agents send binary; both are JSON)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    data: bytes | str | None = message.get("bytes") or message.get("text")
    return data or b""


async def _read_hello(ws: WebSocket) -> Hello:
    try:
        data = await asyncio.wait_for(receive_frame_data(ws), HELLO_TIMEOUT)
        frame, body = codec.decode(data)
    except (TimeoutError, codec.ProtocolError, KeyError) as exc:
        raise _Refused(
            CLOSE_PROTOCOL, Refuse("bad_hello", f"expected a hello frame: {exc}")
        ) from None
    if frame.type != "hello" or not isinstance(body, Hello):
        raise _Refused(CLOSE_PROTOCOL, Refuse("bad_hello", f"expected hello, got {frame.type}"))
    if body.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
        raise _Refused(
            CLOSE_PROTOCOL,
            Refuse(
                "protocol_version",
                f"agent speaks protocol {body.protocol_version}; this server "
                f"(opsplane {__version__}) speaks {sorted(SUPPORTED_PROTOCOL_VERSIONS)}: "
                "upgrade the agent",
                permanent=True,
            ),
        )
    return body


async def _open_session(
    ctx: ServerContext, credential: str | None, hello: Hello
) -> tuple[NodeRef, Welcome, float]:
    """Check the credential, store a changed inventory, and build the welcome for this node."""
    inventory = codec.to_builtins(hello.inventory)
    async with ctx.db.session() as session:  # read only: thousands of agents may reconnect at once
        node = await node_for_credential(session, credential or "")
        if node is None:
            raise _Refused(
                CLOSE_CREDENTIAL,
                Refuse("bad_credential", "unknown agent credential: enroll again", permanent=True),
            )
        if node.revoked_at is not None:
            raise _Refused(
                CLOSE_REVOKED,
                Refuse(
                    "revoked", f"node {node.name} was revoked by an administrator", permanent=True
                ),
            )
        changed = (node.inventory, node.agent_version, node.protocol_version) != (
            inventory,
            hello.agent_version,
            hello.protocol_version,
        )
        config = effective_config(node, ctx.settings, ctx.agent_config)
        ref = NodeRef(node.id, node.name, dict(node.labels))
        acked = {k: int(v) for k, v in (node.acked or {}).items()}
        status = NodeStatus(node.status)
    if changed:
        async with ctx.db.write_session() as session:
            await session.execute(
                update(Node)
                .where(Node.id == ref.id)
                .values(
                    inventory=inventory,
                    agent_version=hello.agent_version,
                    protocol_version=hello.protocol_version,
                )
            )
    # connected_at and last_seen_at reach the database with presence's next bulk flush.
    beat = ctx.presence.connected(
        ref, interval=config.heartbeat_interval, status=status, acked=acked
    )
    welcome = Welcome(ref.id, ref.name, __version__, config, dict(beat.acked))
    return ref, welcome, config.heartbeat_interval


@router.websocket("/agent/link")
@public
async def agent_link(ws: WebSocket) -> None:
    """One agent's link (authenticated by its own credential, not a user session)."""
    ctx: ServerContext = ws.app.state.ctx
    credential = bearer_or_cookie(ws)
    await ws.accept()
    try:
        hello = await _read_hello(ws)
        node, welcome, _ = await _open_session(ctx, credential, hello)
    except _Refused as refused:
        log.info("agent refused", code=refused.refuse.code, client=ws.client and ws.client.host)
        await _refuse(ws, refused)
        return
    except WebSocketDisconnect:
        return
    link = AgentLink(ws, node, on_send=ctx.instruments.frame_sent)
    previous = ctx.links.add(link)
    if previous is not None:
        await previous.close(CLOSE_REPLACED, "replaced by a newer link")
    ctx.instruments.agents_connected.set(len(ctx.links))
    log.info("agent connected", node=node.name, agent_version=hello.agent_version)
    try:
        await link.send("welcome", welcome)
        await _serve(ctx, link)
    except WebSocketDisconnect:
        pass
    except Exception:
        # Nothing unacked is lost: the agent reconnects and resends from its spool.
        log.exception("agent link failed", node=node.name)
        await link.close(1011, "server error")
    finally:
        link.fail_pending("link closed")
        if ctx.links.remove(link):
            ctx.presence.disconnected(node.id)
        ctx.instruments.agents_connected.set(len(ctx.links))
        log.info("agent disconnected", node=node.name)


@dataclass(frozen=True, slots=True)
class _Batch:
    stream: str
    seq: int
    subject: str
    message: Any
    count: int


class IngestPipe:
    """One link's batches, stored in arrival order by a task of their own.

    A durable write waits for the WAL's group commit; running it inside the read loop would
    hold back the heartbeats and command results queued behind it.
    """

    def __init__(self, ctx: ServerContext, link: AgentLink, *, depth: int = 16) -> None:
        self.ctx, self.link = ctx, link
        self.queue: asyncio.Queue[_Batch] = asyncio.Queue(maxsize=depth)
        self.task = asyncio.create_task(self._run(), name=f"ingest:{link.node.name}")

    async def put(self, batch: _Batch) -> None:
        await self.queue.put(batch)  # a full pipe slows this link's reads, nobody else's

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def _run(self) -> None:
        while True:
            batch = await self.queue.get()
            try:
                await self._store(batch)
            except Exception:
                # Unacked batches stay in the agent's spool; it resends them on reconnect.
                log.exception("ingest failed", node=self.link.node.name, stream=batch.stream)
                await self.link.close(1011, "server could not store a batch")
                return

    async def _store(self, batch: _Batch) -> None:
        """Publish once (batches at or below the acked sequence are duplicates), then ack."""
        ctx, node_id = self.ctx, self.link.node.id
        if batch.seq > ctx.presence.acked(node_id, batch.stream):
            await ctx.bus.publish(batch.subject, batch.message)
            ctx.presence.set_acked(node_id, batch.stream, batch.seq)
            if batch.stream == "metrics":
                ctx.instruments.ingested_samples.inc(batch.count)
        await self.link.send("ack", Ack(batch.stream, batch.seq))


async def _serve(ctx: ServerContext, link: AgentLink) -> None:
    pipe = IngestPipe(ctx, link)
    try:
        while not pipe.task.done():
            data = await receive_frame_data(link.ws)
            try:
                frame, body = codec.decode(data)
            except codec.ProtocolError as exc:
                log.warning("bad frame from agent", node=link.node.name, error=str(exc))
                continue
            ctx.instruments.frame_received(frame.type)
            await _dispatch(ctx, link, pipe, frame.id, body)
    finally:
        await pipe.close()


async def _dispatch(
    ctx: ServerContext, link: AgentLink, pipe: IngestPipe, frame_id: str | None, body: Any
) -> None:
    node = link.node
    if isinstance(body, Heartbeat):
        ctx.presence.seen(node.id, body.problems)
        ctx.instruments.heartbeat_lag.observe(max(0.0, time.time() - body.sent_at))
        await link.send("ack", Ack("heartbeat", body.seq))
    elif isinstance(body, MetricBatch):
        ctx.presence.seen(node.id)
        message = IngestMetrics(node, body)
        await pipe.put(_Batch("metrics", body.seq, INGEST_METRICS, message, len(body.points)))
    elif isinstance(body, EventBatch):
        ctx.presence.seen(node.id)
        message_events = IngestEvents(node, body)
        await pipe.put(_Batch("events", body.seq, INGEST_EVENTS, message_events, len(body.events)))
    elif isinstance(body, FileBatch):
        ctx.presence.seen(node.id)
        message_files = IngestFiles(node, body)
        await pipe.put(_Batch("files", body.seq, INGEST_FILES, message_files, len(body.notices)))
    elif isinstance(body, Result):
        ctx.commands.resolve(node.id, frame_id, body)
    else:
        log.warning("unexpected frame from agent", node=node.name, type=type(body).__name__)
