"""Watch rules: which directories and patterns each agent watches for heap dumps.

Rules select nodes by id or name (`node_ids`) or by labels (all must match); a rule with
neither selects every node. The rules live in the database and in a cache here, from which
the fleet's effective AgentConfig takes each node's share (`contribute`); a change is pushed
to the affected connected agents at once (`config` command).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.protocol.files import WatchRule
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.dumps.models import WatchRuleRow
from opsplane.server.errors import Conflict, NotFound
from opsplane.server.fleet.models import Node

FIELDS = (
    "name",
    "paths",
    "patterns",
    "path_template",
    "stable_seconds",
    "after_upload",
    "node_ids",
    "labels",
    "enabled",
)


class RuleNotFound(NotFound):
    code = "watch_rule_not_found"


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule: WatchRule
    node_ids: frozenset[str]
    labels: Mapping[str, str]
    enabled: bool

    def selects(self, node: Node) -> bool:
        if not self.enabled:
            return False
        if self.node_ids and node.id not in self.node_ids and node.name not in self.node_ids:
            return False
        have = node.labels or {}
        return all(have.get(k) == v for k, v in self.labels.items())


def spec_of(row: WatchRuleRow) -> RuleSpec:
    rule = WatchRule(
        id=str(row.id),
        name=row.name,
        paths=tuple(row.paths),
        patterns=tuple(row.patterns),
        path_template=row.path_template,
        stable_seconds=float(row.stable_seconds),
        after_upload=row.after_upload,  # type: ignore[arg-type]
    )
    return RuleSpec(rule, frozenset(row.node_ids), dict(row.labels), row.enabled)


def snapshot(row: WatchRuleRow) -> dict[str, Any]:
    return {k: getattr(row, k) for k in FIELDS}


class WatchRuleCache:
    """The rules as agents get them; `contribute` is the fleet's AgentConfig hook."""

    def __init__(self) -> None:
        self.specs: list[RuleSpec] = []
        self.upload_bytes_per_second: int | None = None
        self.upload_concurrency = 1

    async def load(self, session: AsyncSession) -> None:
        rows = await session.scalars(select(WatchRuleRow).order_by(WatchRuleRow.id))
        self.specs = [spec_of(r) for r in rows]

    def rules_for(self, node: Node) -> tuple[WatchRule, ...]:
        return tuple(s.rule for s in self.specs if s.selects(node))

    def contribute(self, node: Node) -> dict[str, Any]:
        return {
            "watch_rules": self.rules_for(node),
            "upload_bytes_per_second": self.upload_bytes_per_second,
            "upload_concurrency": self.upload_concurrency,
        }


async def list_rules(session: AsyncSession) -> list[WatchRuleRow]:
    return list((await session.scalars(select(WatchRuleRow).order_by(WatchRuleRow.id))).all())


async def get_rule(session: AsyncSession, rule_id: int) -> WatchRuleRow:
    row = await session.get(WatchRuleRow, rule_id)
    if row is None:
        raise RuleNotFound(f"watch rule {rule_id} not found")
    return row


async def _unique_name(session: AsyncSession, name: str, rule_id: int | None = None) -> None:
    other = await session.scalar(select(WatchRuleRow.id).where(WatchRuleRow.name == name))
    if other is not None and other != rule_id:
        raise Conflict(f"a watch rule named {name!r} exists", code="watch_rule_exists")


async def create_rule(session: AsyncSession, *, values: dict[str, Any], by: Actor) -> WatchRuleRow:
    await _unique_name(session, values["name"])
    row = WatchRuleRow(**{k: v for k, v in values.items() if k in FIELDS})
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.watch_rule.create",
        target_type="dump_watch_rule",
        target_id=row.id,
        summary=f"watch rule {row.name}",
        after=snapshot(row),
    )
    return row


async def update_rule(
    session: AsyncSession, *, rule_id: int, changes: dict[str, Any], by: Actor
) -> tuple[WatchRuleRow, RuleSpec]:
    """Apply the changes; returns the row and its spec from before (to push to old targets)."""
    row = await get_rule(session, rule_id)
    before, old = snapshot(row), spec_of(row)
    if "name" in changes:
        await _unique_name(session, changes["name"], rule_id)
    for key, value in changes.items():
        if key in FIELDS:
            setattr(row, key, value)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.watch_rule.update",
        target_type="dump_watch_rule",
        target_id=row.id,
        summary=f"watch rule {row.name}",
        before=before,
        after=snapshot(row),
    )
    return row, old


async def delete_rule(session: AsyncSession, *, rule_id: int, by: Actor) -> RuleSpec:
    row = await get_rule(session, rule_id)
    old = spec_of(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.watch_rule.delete",
        target_type="dump_watch_rule",
        target_id=rule_id,
        summary=f"watch rule {row.name}",
        before=snapshot(row),
    )
    return old


async def affected_nodes(
    session: AsyncSession, connected: Sequence[str], specs: Sequence[RuleSpec] | None
) -> list[Node]:
    """Connected nodes any of `specs` selects (every connected node when specs is None)."""
    if not connected:
        return []
    nodes = (await session.scalars(select(Node).where(Node.id.in_(list(connected))))).all()
    if specs is None:
        return list(nodes)
    return [n for n in nodes if any(s.enabled and s.selects(n) for s in specs)]
