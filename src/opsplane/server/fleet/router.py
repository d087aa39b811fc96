"""Fleet HTTP API: enrollment, nodes, config, commands, events, summary."""

from __future__ import annotations

import asyncio
import shlex
import time
from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Query, Request

from opsplane.server.deps import (
    ActorDep,
    AsAdmin,
    AsOperator,
    AsViewer,
    ContextDep,
    SessionDep,
    public,
)
from opsplane.server.errors import DomainError
from opsplane.server.fleet import enrollment, events, service
from opsplane.server.fleet.configpush import push_config
from opsplane.server.fleet.link import CLOSE_REVOKED
from opsplane.server.fleet.links import AgentLink
from opsplane.server.fleet.models import NodeStatus
from opsplane.server.fleet.schemas import (
    EnrollmentTokenCreate,
    EnrollmentTokenCreated,
    EnrollmentTokenRead,
    FleetSnapshot,
    FleetSummary,
    MetricSeries,
    MetricWindow,
    NodeConfigUpdate,
    NodeDetail,
    NodeEventRead,
    NodeRead,
    NodeSnapshot,
    NodeUpdate,
    PingRequest,
    PingResult,
    RegisterRequest,
    RegisterResponse,
)
from opsplane.server.fleet.snapshots import fleet_snapshot, node_snapshot
from opsplane.server.fleet.views import event_read, node_detail, node_read, token_read
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

log = structlog.get_logger(__name__)

NodeSort = Literal[
    "name",
    "-name",
    "status",
    "-status",
    "last_seen_at",
    "-last_seen_at",
    "created_at",
    "-created_at",
]
router = APIRouter(tags=["fleet"])


def _changed(ctx: ContextDep, node_id: str | None = None) -> None:
    """Tell UI watchers the fleet (and this node) changed; the stream throttles to 1/s."""
    ctx.stream.touch("fleet")
    if node_id is not None:
        ctx.stream.touch(f"node:{node_id}")


def _public_url(request: Request, configured: str | None) -> str:
    return (configured or str(request.base_url)).rstrip("/")


@router.post("/agents/enrollment-tokens", status_code=201, dependencies=[AsAdmin])
async def create_enrollment_token(
    body: EnrollmentTokenCreate,
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    session: SessionDep,
) -> EnrollmentTokenCreated:
    """Create an enrollment token; the response carries the ready agent command."""
    token, secret = await enrollment.create_token(
        session,
        name=body.name,
        expires_in_hours=body.expires_in_hours,
        max_uses=body.max_uses,
        labels=body.labels,
        by=actor,
    )
    url = _public_url(request, ctx.settings.public_url)
    command = f"opsplane agent --server {shlex.quote(url)} --enroll {shlex.quote(secret)}"
    return EnrollmentTokenCreated(
        **token_read(token).model_dump(), token=secret, agent_command=command
    )


@router.get("/agents/enrollment-tokens", dependencies=[AsAdmin])
async def list_enrollment_tokens(session: SessionDep) -> list[EnrollmentTokenRead]:
    """Enrollment tokens with their state (secrets are never shown again)."""
    return [token_read(t) for t in await enrollment.list_tokens(session)]


@router.delete("/agents/enrollment-tokens/{token_id}", dependencies=[AsAdmin])
async def revoke_enrollment_token(
    token_id: int, actor: ActorDep, session: SessionDep
) -> EnrollmentTokenRead:
    """Revoke an enrollment token: no further agent can register with it."""
    return token_read(await enrollment.revoke_token(session, token_id=token_id, by=actor))


@router.post("/agents/register", status_code=201)
@public
async def register_agent(
    body: RegisterRequest, request: Request, ctx: ContextDep
) -> RegisterResponse:
    """Agent self-registration with an enrollment token (authenticated by that token)."""
    # A fleet rollout enrolls hundreds of agents at once: queue them as writers.
    async with ctx.db.write_session() as session:
        node, credential = await enrollment.register_agent(
            session,
            token_secret=body.token,
            name=body.name,
            inventory=body.inventory,
            client_ip=request.client.host if request.client else None,
        )
    _changed(ctx, node.id)
    return RegisterResponse(node_id=node.id, node_name=node.name, credential=credential)


@router.get("/nodes", dependencies=[AsViewer])
async def list_nodes(
    ctx: ContextDep,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    status: Annotated[list[NodeStatus] | None, Query()] = None,
    label: Annotated[list[str] | None, Query(description="key=value; repeat to AND")] = None,
    search: Annotated[str | None, Query(max_length=128)] = None,
    sort: NodeSort = "name",
) -> Page[NodeRead]:
    """Nodes with filters (status, labels, search on name/hostname/IP) and sorting."""
    rows, next_cursor = await service.list_nodes(
        session,
        limit=limit,
        cursor=cursor,
        status=status,
        labels=service.parse_label_filters(label or []),
        search=search,
        sort=sort,
    )
    return Page(items=[node_read(n, ctx) for n in rows], next_cursor=next_cursor)


@router.get("/nodes/{node_id}", dependencies=[AsViewer])
async def get_node(node_id: str, ctx: ContextDep, session: SessionDep) -> NodeDetail:
    """A node's inventory, status, last heartbeat and effective agent config."""
    return node_detail(await service.get_node(session, node_id), ctx)


@router.patch("/nodes/{node_id}", dependencies=[AsOperator])
async def update_node(
    node_id: str, body: NodeUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> NodeDetail:
    """Set a node's labels (pushed to its agent live)."""
    node = await service.get_node(session, node_id)
    if body.labels is not None:
        node = await service.update_labels(session, node_id=node_id, labels=body.labels, by=actor)
        await session.commit()
        _changed(ctx, node_id)
        await push_config(ctx, node)
    return node_detail(node, ctx)


@router.put("/nodes/{node_id}/config", dependencies=[AsOperator])
async def update_node_config(
    node_id: str, body: NodeConfigUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> NodeDetail:
    """Override the node's agent config; pushed live, no agent restart."""
    node = await service.update_config(
        session, node_id=node_id, overrides=body.model_dump(), by=actor
    )
    await session.commit()
    _changed(ctx, node_id)
    await push_config(ctx, node)
    return node_detail(node, ctx)


@router.post("/nodes/{node_id}/revoke", dependencies=[AsAdmin])
async def revoke_node(
    node_id: str, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> NodeDetail:
    """Revoke the node's agent credential and disconnect it."""
    node = await service.revoke_node(session, node_id=node_id, by=actor)
    await session.commit()  # refuse the agent's reconnect from now on, before we hang up
    ctx.principals.clear()  # its credential may be cached for the upload endpoints
    ctx.presence.forget(node_id)
    link: AgentLink | None = ctx.links.get(node_id)
    if link is not None:
        await link.close(CLOSE_REVOKED, "revoked")
    _changed(ctx, node_id)
    return node_detail(node, ctx)


@router.delete("/nodes/{node_id}", status_code=204, dependencies=[AsAdmin])
async def delete_node(node_id: str, ctx: ContextDep, actor: ActorDep, session: SessionDep) -> None:
    """Delete a node and its history (revoke it first if its agent still runs)."""
    await service.delete_node(session, node_id=node_id, by=actor)
    await session.commit()
    ctx.principals.clear()
    ctx.presence.forget(node_id)
    ctx.metrics.forget(node_id)
    link = ctx.links.get(node_id)
    if link is not None:
        await link.close(CLOSE_REVOKED, "node deleted")
    _changed(ctx)


@router.post("/nodes/{node_id}/ping", dependencies=[AsOperator])
async def ping_node(node_id: str, ctx: ContextDep, session: SessionDep) -> PingResult:
    """Round trip to the node's agent over its link."""
    await service.get_node(session, node_id)
    try:
        rtt = await ctx.commands.ping(node_id)
    except DomainError as exc:
        return PingResult(node_id=node_id, ok=False, error=exc.message)
    ctx.instruments.command_latency.labels("ping").observe(rtt)
    return PingResult(node_id=node_id, ok=True, rtt_ms=rtt * 1000)


@router.post("/nodes/ping", dependencies=[AsOperator])
async def ping_nodes(body: PingRequest, ctx: ContextDep) -> list[PingResult]:
    """Ping many nodes at once (default: every connected one)."""
    node_ids = body.node_ids if body.node_ids is not None else ctx.links.node_ids()

    async def one(node_id: str) -> PingResult:
        try:
            rtt = await ctx.commands.ping(node_id, timeout=body.timeout)
        except DomainError as exc:
            return PingResult(node_id=node_id, ok=False, error=exc.message)
        ctx.instruments.command_latency.labels("ping").observe(rtt)
        return PingResult(node_id=node_id, ok=True, rtt_ms=rtt * 1000)

    return list(await asyncio.gather(*(one(n) for n in node_ids)))


@router.get("/nodes/{node_id}/metrics", dependencies=[AsViewer])
async def node_metrics(
    node_id: str,
    ctx: ContextDep,
    session: SessionDep,
    name: Annotated[list[str] | None, Query(description="Metric names; default all")] = None,
    since: Annotated[float, Query(gt=0, le=7 * 86400, description="Seconds back")] = 900,
) -> MetricWindow:
    """Recent samples of the node's host metrics."""
    await service.get_node(session, node_id)
    since_ms = int((time.time() - since) * 1000)
    series = ctx.metrics.window(node_id, names=name, since_ms=since_ms)
    return MetricWindow(
        node_id=node_id,
        series=[MetricSeries(name=s.name, labels=s.labels, points=s.points) for s in series],
    )


@router.get("/events", dependencies=[AsViewer])
async def list_events(
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    node_id: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
) -> Page[NodeEventRead]:
    """Fleet events (status changes, enrollments, config pushes), newest first."""
    rows, next_cursor = await events.list_events(
        session, limit=limit, cursor=cursor, node_id=node_id, kind=kind, severity=severity
    )
    return Page(items=[event_read(e, name) for e, name in rows], next_cursor=next_cursor)


@router.get("/fleet/snapshot", dependencies=[AsViewer])
async def get_fleet_snapshot(ctx: ContextDep) -> FleetSnapshot:
    """The `fleet` stream topic's content, on demand."""
    return await fleet_snapshot(ctx)


@router.get("/nodes/{node_id}/snapshot", dependencies=[AsViewer])
async def get_node_snapshot(node_id: str, ctx: ContextDep) -> NodeSnapshot:
    """The `node:<id>` stream topic's content, on demand."""
    return await node_snapshot(ctx, node_id)


@router.get("/fleet/summary", dependencies=[AsViewer])
async def fleet_summary(session: SessionDep) -> FleetSummary:
    """Node counts by status and agent version."""
    return FleetSummary(**await service.summary(session))
