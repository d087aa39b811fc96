"""Turning fleet rows into API models (with live presence overlaid)."""

from __future__ import annotations

from typing import Any

from opsplane.server.context import ServerContext
from opsplane.server.fleet.enrollment import token_state
from opsplane.server.fleet.models import EnrollmentToken, Node, NodeEvent, NodeStatus
from opsplane.server.fleet.schemas import (
    AgentConfigRead,
    EnrollmentTokenRead,
    NodeDetail,
    NodeEventRead,
    NodeRead,
)
from opsplane.server.fleet.service import effective_config


def node_read(node: Node, ctx: ServerContext) -> NodeRead:
    return NodeRead(**_node_fields(node, ctx))


def _node_fields(node: Node, ctx: ServerContext) -> dict[str, Any]:
    inventory = node.inventory or {}
    beat = ctx.presence.beats.get(node.id)
    last_seen = beat.last_seen_at if beat else node.last_seen_at
    problems = list(beat.problems) if beat else list(node.problems or [])
    return {
        "id": node.id,
        "name": node.name,
        "status": NodeStatus(node.status),
        "labels": dict(node.labels or {}),
        "agent_version": node.agent_version,
        "hostname": str(inventory.get("hostname", "")),
        "os": str(inventory.get("os", "")),
        "ip_addresses": [str(a) for a in inventory.get("ip_addresses", [])],
        "problems": [str(p) for p in problems],
        "last_seen_at": last_seen,
        "connected_at": node.connected_at,
        "status_changed_at": node.status_changed_at,
        "created_at": node.created_at,
    }


def node_detail(node: Node, ctx: ServerContext) -> NodeDetail:
    config = effective_config(node, ctx.settings, ctx.agent_config)
    return NodeDetail(
        **_node_fields(node, ctx),
        inventory=dict(node.inventory or {}),
        protocol_version=node.protocol_version,
        config=AgentConfigRead(
            heartbeat_interval=config.heartbeat_interval,
            metrics_interval=config.metrics_interval,
            labels=dict(config.labels),
            scrape_targets=list(config.scrape_targets),
            threshold_check_interval=config.threshold_check_interval,
            threshold_rules=len(config.threshold_watches),
        ),
        config_overrides=dict(node.config or {}),
        connected=ctx.links.get(node.id) is not None,
    )


def event_read(event: NodeEvent, node_name: str) -> NodeEventRead:
    return NodeEventRead(
        id=event.id,
        node_id=event.node_id,
        node_name=node_name,
        at=event.at,
        kind=event.kind,
        severity=event.severity,
        message=event.message,
        data=dict(event.data or {}),
    )


def token_read(token: EnrollmentToken) -> EnrollmentTokenRead:
    return EnrollmentTokenRead(
        id=token.id,
        name=token.name,
        prefix=token.prefix,
        labels=dict(token.labels or {}),
        max_uses=token.max_uses,
        uses=token.uses,
        expires_at=token.expires_at,
        created_at=token.created_at,
        created_by=token.created_by,
        revoked_at=token.revoked_at,
        state=token_state(token),
    )
