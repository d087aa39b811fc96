"""Nodes: listing, detail, labels, per-node config, revocation, deletion, fleet summary."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from opsplane.protocol.session import AgentConfig
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.db import utcnow
from opsplane.server.errors import Invalid, NotFound
from opsplane.server.fleet.events import record_event
from opsplane.server.fleet.models import Node, NodeStatus
from opsplane.server.pagination import decode_cursor, encode_cursor
from opsplane.server.settings import Settings

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SORTS: dict[str, Any] = {
    "name": Node.name,
    "status": Node.status,
    "last_seen_at": func.coalesce(Node.last_seen_at, _EPOCH),
    "created_at": Node.created_at,
}


# Another domain's part of a node's AgentConfig (field name -> value), e.g. the dump
# pipeline's watch rules; registered on `ServerContext.agent_config` by that domain's setup.
ConfigContributor = Callable[[Node], Mapping[str, Any]]


def effective_config(
    node: Node, settings: Settings, contributors: Iterable[ConfigContributor] = ()
) -> AgentConfig:
    """Server defaults overlaid with the node's own overrides, labels and other domains' parts."""
    overrides = node.config or {}
    config = AgentConfig(
        heartbeat_interval=float(
            overrides.get("heartbeat_interval") or settings.heartbeat_interval
        ),
        metrics_interval=float(overrides.get("metrics_interval") or settings.metrics_interval),
        labels=dict(node.labels or {}),
        scrape_targets=tuple(overrides.get("scrape_targets") or ()),
        threshold_check_interval=float(
            overrides["threshold_check_interval"]
            if overrides.get("threshold_check_interval") is not None
            else settings.threshold_check_interval
        ),
    )
    for contribute in contributors:
        config = msgspec.structs.replace(config, **contribute(node))
    return config


async def get_node(session: AsyncSession, node_id: str) -> Node:
    node = await session.get(Node, node_id)
    if node is None:
        raise NotFound(f"node {node_id} not found", code="node_not_found")
    return node


async def get_node_by_name(session: AsyncSession, name: str) -> Node:
    node = await session.scalar(select(Node).where(Node.name == name))
    if node is None:
        raise NotFound(f"node {name!r} not found", code="node_not_found")
    return node


def parse_label_filters(raw: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise Invalid(f"label filter {item!r} must look like key=value", code="bad_label")
        labels[key] = value
    return labels


def _order(sort: str) -> tuple[Any, bool]:
    descending = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"))
    if column is None:
        raise Invalid(f"cannot sort by {sort!r}; use one of {sorted(SORTS)}", code="bad_sort")
    return column, descending


def _after(column: Any, descending: bool, value: Any, node_id: str) -> ColumnElement[bool]:
    if descending:
        return (column < value) | ((column == value) & (Node.id < node_id))  # type: ignore[no-any-return]
    return (column > value) | ((column == value) & (Node.id > node_id))  # type: ignore[no-any-return]


def _cursor_value(node: Node, sort: str) -> Any:
    key = sort.lstrip("-")
    value = getattr(node, key)
    if key == "last_seen_at" and value is None:
        value = _EPOCH
    return value.isoformat() if isinstance(value, datetime) else value


async def list_nodes(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    status: list[NodeStatus] | None = None,
    labels: dict[str, str] | None = None,
    search: str | None = None,
    sort: str = "name",
) -> tuple[list[Node], str | None]:
    column, descending = _order(sort)
    query = (
        select(Node)
        .limit(limit + 1)
        .order_by(
            column.desc() if descending else column.asc(),
            Node.id.desc() if descending else Node.id.asc(),
        )
    )
    after = decode_cursor(cursor, 2)
    if after is not None:
        value: Any = after[0]
        if sort.lstrip("-") in ("last_seen_at", "created_at"):
            value = datetime.fromisoformat(value)
        query = query.where(_after(column, descending, value, str(after[1])))
    if status:
        query = query.where(Node.status.in_([s.value for s in status]))
    for key, value in (labels or {}).items():
        query = query.where(Node.labels[key].as_string() == value)
    if search:
        needle = f"%{search.lower()}%"
        query = query.where(
            func.lower(Node.name).like(needle)
            | func.lower(cast(Node.inventory, String)).like(needle)
        )
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(_cursor_value(rows[-1], sort), rows[-1].id) if more else None
    return rows, next_cursor


async def update_labels(
    session: AsyncSession, *, node_id: str, labels: dict[str, str], by: Actor
) -> Node:
    node = await get_node(session, node_id)
    before = dict(node.labels)
    node.labels = dict(labels)
    await audit.record(
        session,
        by=by,
        action="node.update",
        target_type="node",
        target_id=node.id,
        summary=f"labels of {node.name}",
        before={"labels": before},
        after={"labels": node.labels},
    )
    return node


async def update_config(
    session: AsyncSession, *, node_id: str, overrides: dict[str, Any], by: Actor
) -> Node:
    """Replace the node's config overrides (null values fall back to server defaults)."""
    node = await get_node(session, node_id)
    before = dict(node.config or {})
    node.config = {k: v for k, v in overrides.items() if v is not None}
    await record_event(
        session,
        node_id=node.id,
        kind="config",
        message=f"config changed by {by.name}",
        data={"config": node.config},
    )
    await audit.record(
        session,
        by=by,
        action="node.config",
        target_type="node",
        target_id=node.id,
        summary=f"config of {node.name}",
        before=before,
        after=node.config,
    )
    return node


async def revoke_node(session: AsyncSession, *, node_id: str, by: Actor) -> Node:
    """Revoke the node's credential: its agent is disconnected and refused from now on."""
    node = await get_node(session, node_id)
    if node.revoked_at is None:
        before = node.status
        node.revoked_at = utcnow()
        node.status = NodeStatus.revoked.value
        node.status_changed_at = node.revoked_at
        await record_event(
            session,
            node_id=node.id,
            kind="status",
            severity="warning",
            message=f"revoked by {by.name}",
            data={"old": before, "new": node.status},
        )
        await audit.record(
            session,
            by=by,
            action="node.revoke",
            target_type="node",
            target_id=node.id,
            summary=f"revoked {node.name}",
            before={"status": before},
            after={"status": node.status},
        )
    return node


async def delete_node(session: AsyncSession, *, node_id: str, by: Actor) -> Node:
    node = await get_node(session, node_id)
    await session.delete(node)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="node.delete",
        target_type="node",
        target_id=node_id,
        summary=f"deleted {node.name}",
        before={"name": node.name, "labels": node.labels},
    )
    return node


async def summary(session: AsyncSession) -> dict[str, Any]:
    counts = dict(
        (await session.execute(select(Node.status, func.count()).group_by(Node.status))).all()
    )
    versions = dict(
        (
            await session.execute(
                select(Node.agent_version, func.count()).group_by(Node.agent_version)
            )
        ).all()
    )
    by_status = {s.value: int(counts.get(s.value, 0)) for s in NodeStatus}
    return {
        "total": sum(by_status.values()),
        **by_status,
        "agent_versions": {v or "unknown": int(n) for v, n in versions.items()},
    }
