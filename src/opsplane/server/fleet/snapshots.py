"""What the UI stream sends for the `fleet` and `node:<id>` topics."""

from __future__ import annotations

import time

from opsplane.server.context import ServerContext
from opsplane.server.errors import NotFound
from opsplane.server.fleet import events, service
from opsplane.server.fleet.schemas import FleetSnapshot, FleetSummary, MetricSeries, NodeSnapshot
from opsplane.server.fleet.views import event_read, node_read
from opsplane.server.stream.hub import SnapshotBuilder

# Series the node page charts live (the rest is fetched on demand).
LIVE_METRICS = (
    "host_cpu_utilization_ratio",
    "host_memory_utilization_ratio",
    "host_memory_used_bytes",
    "host_memory_total_bytes",
    "host_filesystem_utilization_ratio",
    "host_network_received_bytes_total",
    "host_network_transmitted_bytes_total",
    "host_load1",
)
RECENT_SECONDS = 15


async def fleet_snapshot(ctx: ServerContext) -> FleetSnapshot:
    async with ctx.db.session() as session:
        summary = FleetSummary(**await service.summary(session))
        recent, _ = await events.list_events(session, limit=20)
    return FleetSnapshot(
        summary=summary,
        events=[event_read(event, name) for event, name in recent],
        connected=len(ctx.links),
    )


async def node_snapshot(ctx: ServerContext, node_id: str) -> NodeSnapshot:
    async with ctx.db.session() as session:
        node = await service.get_node(session, node_id)
        view = node_read(node, ctx)
    now_ms = int(time.time() * 1000)
    recent = ctx.metrics.window(
        node_id, names=LIVE_METRICS, since_ms=now_ms - RECENT_SECONDS * 1000
    )
    return NodeSnapshot(
        node=view,
        connected=ctx.links.get(node_id) is not None,
        at=now_ms,
        recent=[MetricSeries(name=s.name, labels=s.labels, points=s.points) for s in recent],
    )


def fleet_snapshot_builder(ctx: ServerContext) -> SnapshotBuilder:
    async def build(topic: str) -> object:
        return (await fleet_snapshot(ctx)).model_dump(mode="json")

    return build


def node_snapshot_builder(ctx: ServerContext) -> SnapshotBuilder:
    async def build(topic: str) -> object:
        try:
            snapshot = await node_snapshot(ctx, topic.partition(":")[2])
        except NotFound as exc:
            return {"error": exc.message}
        return snapshot.model_dump(mode="json")

    return build
