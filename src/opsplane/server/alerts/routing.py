"""The notification routing tree (Alertmanager's semantics) and where it is stored.

Every alert enters at the root. Children are tried in order; a matching child takes the
alert (its own children first, deepest match wins) and, unless it says `continue`, stops the
search. When no child matches, the node itself takes it. Unset fields inherit from the
parent. The root matches everything; with no receivers it sends to every channel marked
`is_default`, so "a channel exists" is enough for alerts to go somewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.durations import DurationError, parse_duration
from opsplane.server.alerts.labels import matchers_from_dicts, matches_all
from opsplane.server.alerts.models import Channel, RoutingTree
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import Invalid
from opsplane.server.metrics.model import LabelMatcher

ALL_LABELS = "..."


class MatcherModel(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    op: str = Field(default="=", pattern=r"^(=|!=|=~|!~)$")
    value: str = Field(default="", max_length=1024)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


class RouteNode(BaseModel):
    """One node of the tree; durations are Prometheus durations or seconds."""

    model_config = ConfigDict(populate_by_name=True)

    matchers: list[MatcherModel] = Field(default_factory=list)
    receivers: list[int] = Field(default_factory=list, description="Channel ids.")
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = Field(default=None, description='["..."]: every label.')
    group_wait: str | float | None = None
    group_interval: str | float | None = None
    repeat_interval: str | float | None = None
    escalate_after: str | float | None = Field(
        default=None, description="Notify `escalate_to` if the incident is not acked by then."
    )
    escalate_to: list[int] = Field(default_factory=list)
    routes: list[RouteNode] = Field(default_factory=list)

    @field_validator("group_wait", "group_interval", "repeat_interval", "escalate_after")
    @classmethod
    def _durations(cls, v: Any) -> float | None:
        return _seconds(v)


@dataclass(frozen=True, slots=True)
class Timing:
    group_by: tuple[str, ...] | None  # None: every label
    group_wait: float
    group_interval: float
    repeat_interval: float


@dataclass(frozen=True, slots=True)
class ResolvedRoute:
    """A node the alert ends up at, with everything inherited filled in."""

    path: str
    receivers: tuple[int, ...] | None  # None: the default channels
    timing: Timing
    escalate_after: float | None
    escalate_to: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    path: str
    matchers: tuple[LabelMatcher, ...]
    cont: bool
    route: ResolvedRoute
    children: tuple[_Compiled, ...]


def _compile(node: RouteNode, parent: ResolvedRoute, path: str) -> _Compiled:
    group_by = (
        parent.timing.group_by
        if node.group_by is None
        else (None if ALL_LABELS in node.group_by else tuple(node.group_by))
    )

    def pick(value: Any, inherited: float) -> float:
        return inherited if value is None else float(value)

    timing = Timing(
        group_by,
        pick(node.group_wait, parent.timing.group_wait),
        pick(node.group_interval, parent.timing.group_interval),
        pick(node.repeat_interval, parent.timing.repeat_interval),
    )
    route = ResolvedRoute(
        path=path,
        receivers=tuple(node.receivers) if node.receivers else parent.receivers,
        timing=timing,
        escalate_after=parent.escalate_after
        if node.escalate_after is None
        else float(node.escalate_after) or None,
        escalate_to=tuple(node.escalate_to) if node.escalate_to else parent.escalate_to,
    )
    children = tuple(_compile(child, route, f"{path}.{i}") for i, child in enumerate(node.routes))
    matchers = tuple(matchers_from_dicts(m.model_dump() for m in node.matchers))
    return _Compiled(path, matchers, node.continue_, route, children)


class Router:
    """The compiled tree: `routes_for(labels)` lists where an alert goes."""

    def __init__(self, tree: RouteNode, defaults: Timing) -> None:
        base = ResolvedRoute("root", None, defaults, None, ())
        self.root = _compile(tree, base, "root")

    def routes_for(self, labels: Mapping[str, str]) -> list[ResolvedRoute]:
        return self._match(self.root, labels)

    def _match(self, node: _Compiled, labels: Mapping[str, str]) -> list[ResolvedRoute]:
        found: list[ResolvedRoute] = []
        for child in node.children:
            if matches_all(child.matchers, labels):
                found.extend(self._match(child, labels))
                if not child.cont:
                    break
        return found or [node.route]


def _channel_ids(node: RouteNode) -> set[int]:
    ids = set(node.receivers) | set(node.escalate_to)
    for child in node.routes:
        ids |= _channel_ids(child)
    return ids


async def get_tree(session: AsyncSession) -> RouteNode:
    row = await session.scalar(select(RoutingTree).order_by(RoutingTree.id.desc()).limit(1))
    return RouteNode.model_validate(row.tree) if row is not None else RouteNode()


def compile_tree(tree: RouteNode, defaults: Timing) -> Router:
    """The tree as the dispatcher runs it; Invalid if a matcher is bad or the root has any."""
    if tree.matchers:
        raise Invalid("the root route matches every alert: it takes no matchers", code="bad_route")
    return Router(tree, defaults)


async def put_tree(session: AsyncSession, *, tree: RouteNode, by: Actor) -> RouteNode:
    """Replace the whole tree (validated: matchers parse, receivers exist, root matches all)."""
    compile_tree(tree, Timing(None, 0, 60, 3600))
    wanted = _channel_ids(tree)
    known = set(await session.scalars(select(Channel.id).where(Channel.id.in_(wanted))))
    if wanted - known:
        raise Invalid(f"unknown channel ids {sorted(wanted - known)}", code="unknown_channel")
    before = await get_tree(session)
    doc = tree.model_dump(by_alias=True, exclude_defaults=True)
    row = await session.scalar(select(RoutingTree).limit(1))
    if row is None:
        session.add(RoutingTree(tree=doc, updated_by=by.name))
    else:
        row.tree, row.updated_by = doc, by.name
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_routing.update",
        target_type="alert_routing",
        before=before.model_dump(by_alias=True, exclude_defaults=True),
        after=doc,
    )
    return tree
