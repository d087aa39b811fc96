"""Rule groups and alerting rules: validation, CRUD, enable/disable, loading for the engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import builder, templates
from opsplane.server.alerts.evaluation import RuleSpec
from opsplane.server.alerts.models import RecordingRule, Rule, RuleGroup
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import Conflict, Invalid, NotFound
from opsplane.server.pagination import decode_cursor, encode_cursor

DEFAULT_INTERVAL = 15.0
RULE_FIELDS = (
    "name",
    "expr",
    "for_s",
    "keep_firing_for_s",
    "severity",
    "labels",
    "annotations",
    "enabled",
    "builder",
)


@dataclass(frozen=True, slots=True)
class GroupSpec:
    id: int
    name: str
    interval_s: float


def check_rule(*, expr: str, labels: dict[str, str], annotations: dict[str, str]) -> None:
    """Refuse what Prometheus would refuse: bad PromQL, bad templates, reserved labels."""
    builder.parse_expr(expr)
    for where, mapping in (("labels", labels), ("annotations", annotations)):
        for key, text in mapping.items():
            if where == "labels" and key in ("alertname", "__name__"):
                raise Invalid(f"label {key!r} is set by opsplane", code="reserved_label")
            try:
                templates.validate(text)
            except templates.TemplateError as exc:
                raise Invalid(f"{where}.{key}: {exc}", code="bad_template") from None


def snapshot(rule: Rule) -> dict[str, Any]:
    return {f: getattr(rule, f) for f in RULE_FIELDS} | {"group_id": rule.group_id}


async def get_group(session: AsyncSession, group_id: int) -> RuleGroup:
    group = await session.get(RuleGroup, group_id)
    if group is None:
        raise NotFound(f"rule group {group_id} not found", code="rule_group_not_found")
    return group


async def group_by_name(
    session: AsyncSession,
    name: str,
    *,
    create: bool = False,
    by: Actor | None = None,
    interval_s: float = DEFAULT_INTERVAL,
) -> RuleGroup:
    group = await session.scalar(select(RuleGroup).where(RuleGroup.name == name))
    if group is not None:
        return group
    if not create or by is None:
        raise NotFound(f"rule group {name!r} not found", code="rule_group_not_found")
    return await create_group(session, name=name, interval_s=interval_s, by=by)


async def create_group(
    session: AsyncSession, *, name: str, interval_s: float, by: Actor
) -> RuleGroup:
    if await session.scalar(select(RuleGroup.id).where(RuleGroup.name == name)) is not None:
        raise Conflict(f"rule group {name!r} exists", code="rule_group_exists")
    group = RuleGroup(name=name, interval_s=interval_s)
    session.add(group)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule_group.create",
        target_type="alert_rule_group",
        target_id=group.id,
        summary=name,
        after={"name": name, "interval_s": interval_s},
    )
    return group


async def update_group(
    session: AsyncSession, *, group_id: int, interval_s: float, by: Actor
) -> RuleGroup:
    group = await get_group(session, group_id)
    before = group.interval_s
    group.interval_s = interval_s
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule_group.update",
        target_type="alert_rule_group",
        target_id=group.id,
        summary=group.name,
        before={"interval_s": before},
        after={"interval_s": interval_s},
    )
    return group


async def delete_group(session: AsyncSession, *, group_id: int, by: Actor) -> None:
    """Delete a group and its rules (their alerts resolve at the next reload)."""
    group = await get_group(session, group_id)
    names = list(await session.scalars(select(Rule.name).where(Rule.group_id == group_id)))
    for kind in (Rule, RecordingRule):
        for rule in await session.scalars(select(kind).where(kind.group_id == group_id)):
            await session.delete(rule)
    await session.delete(group)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule_group.delete",
        target_type="alert_rule_group",
        target_id=group_id,
        summary=group.name,
        before={"name": group.name, "rules": names},
    )


async def list_groups(session: AsyncSession) -> list[tuple[RuleGroup, int]]:
    counts = dict(
        (await session.execute(select(Rule.group_id, func.count()).group_by(Rule.group_id))).all()
    )
    groups = await session.scalars(select(RuleGroup).order_by(RuleGroup.name))
    return [(g, int(counts.get(g.id, 0))) for g in groups]


async def get_rule(session: AsyncSession, rule_id: int) -> Rule:
    rule = await session.get(Rule, rule_id)
    if rule is None:
        raise NotFound(f"alert rule {rule_id} not found", code="rule_not_found")
    return rule


async def create_rule(
    session: AsyncSession,
    *,
    group: str,
    name: str,
    expr: str,
    for_s: float,
    keep_firing_for_s: float,
    severity: str,
    labels: dict[str, str],
    annotations: dict[str, str],
    enabled: bool,
    by: Actor,
    builder_spec: dict[str, Any] | None = None,
    audit_it: bool = True,
) -> Rule:
    check_rule(expr=expr, labels=labels, annotations=annotations)
    rule_group = await group_by_name(session, group, create=True, by=by)
    position = await session.scalar(
        select(func.count()).select_from(Rule).where(Rule.group_id == rule_group.id)
    )
    rule = Rule(
        group_id=rule_group.id,
        position=int(position or 0),
        name=name,
        expr=expr,
        for_s=for_s,
        keep_firing_for_s=keep_firing_for_s,
        severity=severity,
        labels=dict(labels),
        annotations=dict(annotations),
        enabled=enabled,
        builder=builder_spec,
        created_by=by.name,
    )
    session.add(rule)
    await session.flush()
    if audit_it:
        await audit.record(
            session,
            by=by,
            action="alert_rule.create",
            target_type="alert_rule",
            target_id=rule.id,
            summary=f"{group}/{name}",
            after=snapshot(rule),
        )
    return rule


async def update_rule(
    session: AsyncSession, *, rule_id: int, changes: dict[str, Any], by: Actor
) -> Rule:
    """Apply the given fields; editing `expr` by hand detaches the rule from the builder."""
    rule = await get_rule(session, rule_id)
    before = snapshot(rule)
    group = changes.pop("group", None)
    if group is not None:
        rule.group_id = (await group_by_name(session, group, create=True, by=by)).id
    if "expr" in changes and changes["expr"] != rule.expr:
        rule.builder = None
    for key, value in changes.items():
        setattr(rule, key, value)
    check_rule(expr=rule.expr, labels=rule.labels, annotations=rule.annotations)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule.update",
        target_type="alert_rule",
        target_id=rule.id,
        summary=rule.name,
        before=before,
        after=snapshot(rule),
    )
    return rule


async def set_enabled(session: AsyncSession, *, rule_id: int, enabled: bool, by: Actor) -> Rule:
    rule = await get_rule(session, rule_id)
    if rule.enabled != enabled:
        rule.enabled = enabled
        await session.flush()
        await audit.record(
            session,
            by=by,
            action="alert_rule.enable" if enabled else "alert_rule.disable",
            target_type="alert_rule",
            target_id=rule.id,
            summary=rule.name,
            before={"enabled": not enabled},
            after={"enabled": enabled},
        )
    return rule


async def delete_rule(session: AsyncSession, *, rule_id: int, by: Actor) -> None:
    rule = await get_rule(session, rule_id)
    before = snapshot(rule)
    await session.delete(rule)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule.delete",
        target_type="alert_rule",
        target_id=rule_id,
        summary=rule.name,
        before=before,
    )


async def list_rules(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    group_id: int | None = None,
    enabled: bool | None = None,
    severity: str | None = None,
    search: str | None = None,
) -> tuple[list[tuple[Rule, str]], str | None]:
    """Rules with their group's name, ordered by id."""
    query = (
        select(Rule, RuleGroup.name)
        .join(RuleGroup, RuleGroup.id == Rule.group_id)
        .order_by(Rule.id)
        .limit(limit + 1)
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(Rule.id > int(after[0]))
    if group_id is not None:
        query = query.where(Rule.group_id == group_id)
    if enabled is not None:
        query = query.where(Rule.enabled == enabled)
    if severity:
        query = query.where(Rule.severity == severity)
    if search:
        needle = f"%{search.lower()}%"
        query = query.where(func.lower(Rule.name).like(needle) | func.lower(Rule.expr).like(needle))
    rows = [(rule, group) for rule, group in (await session.execute(query)).all()]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def to_spec(rule: Rule) -> RuleSpec:
    eval_expr = rule.expr
    if rule.builder and rule.builder.get("clear_threshold") is not None:
        eval_expr = builder.compile_threshold(rule.builder)[1]
    return RuleSpec(
        id=rule.id,
        group_id=rule.group_id,
        name=rule.name,
        expr=rule.expr,
        for_s=rule.for_s,
        keep_firing_for_s=rule.keep_firing_for_s,
        severity=rule.severity,
        labels=dict(rule.labels),
        annotations=dict(rule.annotations),
        eval_expr=eval_expr,
        enter=builder.enter_condition(rule.builder),
    )


async def load_enabled(session: AsyncSession) -> tuple[list[GroupSpec], list[RuleSpec]]:
    """Every group and every enabled rule, for the engine."""
    groups = [
        GroupSpec(g.id, g.name, g.interval_s) for g in await session.scalars(select(RuleGroup))
    ]
    rules = [
        to_spec(r)
        for r in await session.scalars(
            select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.group_id, Rule.position)
        )
    ]
    return groups, rules
