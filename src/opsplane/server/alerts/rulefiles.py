"""Prometheus rule files: import (YAML in) and export (YAML that `promtool check rules` accepts)."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import recording
from opsplane.server.alerts import rules as rule_service
from opsplane.server.alerts.durations import DurationError, format_duration, parse_duration
from opsplane.server.alerts.models import RecordingRule, Rule, RuleGroup
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import DomainError, Invalid

MAX_BYTES = 4 * 1024 * 1024
_RULE_KEYS = {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
_GROUP_KEYS = {"name", "interval", "rules", "limit", "query_offset", "labels"}


def _load(text: str) -> list[dict[str, Any]]:
    if len(text) > MAX_BYTES:
        raise Invalid("rule file is larger than 4 MiB", code="rule_file_too_large")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"not valid YAML: {exc}", code="bad_rule_file") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise Invalid("a rule file is a mapping with a `groups:` list", code="bad_rule_file")
    unknown = set(doc) - {"groups"}
    if unknown:
        raise Invalid(f"unknown top-level keys {sorted(unknown)}", code="bad_rule_file")
    groups: list[dict[str, Any]] = doc["groups"]
    names = [g.get("name") if isinstance(g, dict) else None for g in groups]
    if any(not isinstance(n, str) or not n for n in names):
        raise Invalid("every group needs a name", code="bad_rule_file")
    if len(set(names)) != len(names):
        raise Invalid("group names must be unique within a file", code="bad_rule_file")
    return groups


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be a mapping", code="bad_rule_file")
    return {str(k): str(v) for k, v in value.items()}


def _duration(value: Any, where: str) -> float:
    try:
        return parse_duration(value if value is not None else 0)
    except DurationError as exc:
        raise Invalid(f"{where}: {exc}", code="bad_rule_file") from None


_RECORD_KEYS = {"record", "expr", "labels"}


def _parse_recording(raw: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(raw) - _RECORD_KEYS
    if unknown:
        raise Invalid(f"{where}: unknown keys {sorted(unknown)}", code="bad_rule_file")
    if not isinstance(raw.get("record"), str):
        raise Invalid(f"{where}: `record:` must be a metric name", code="bad_rule_file")
    if not isinstance(raw.get("expr"), str | int | float):
        raise Invalid(f"{where}: `expr:` is required", code="bad_rule_file")
    return {
        "record": raw["record"],
        "expr": str(raw["expr"]),
        "labels": _strings(raw.get("labels"), f"{where}.labels"),
    }


def _parse_rule(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("alert"), str):
        raise Invalid(f"{where}: an alerting rule needs `alert:`", code="bad_rule_file")
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise Invalid(f"{where}: unknown keys {sorted(unknown)}", code="bad_rule_file")
    if not isinstance(raw.get("expr"), str | int | float):
        raise Invalid(f"{where}: `expr:` is required", code="bad_rule_file")
    labels = _strings(raw.get("labels"), f"{where}.labels")
    return {
        "name": raw["alert"],
        "expr": str(raw["expr"]),
        "for_s": _duration(raw.get("for"), f"{where}.for"),
        "keep_firing_for_s": _duration(raw.get("keep_firing_for"), f"{where}.keep_firing_for"),
        "labels": labels,
        "severity": labels.pop("severity", "warning"),
        "annotations": _strings(raw.get("annotations"), f"{where}.annotations"),
    }


async def import_rules(
    session: AsyncSession, *, text: str, by: Actor, replace: bool = True
) -> dict[str, Any]:
    """Create the file's groups; with `replace`, a group of the same name loses its old rules.

    All or nothing: one bad rule refuses the whole file (the request rolls back).
    """
    created, recorded, replaced = 0, 0, 0
    skipped: list[str] = []
    group_names: list[str] = []
    for group_index, raw_group in enumerate(_load(text)):
        name = raw_group["name"]
        unknown = set(raw_group) - _GROUP_KEYS
        if unknown:
            raise Invalid(f"group {name!r}: unknown keys {sorted(unknown)}", code="bad_rule_file")
        interval = _duration(raw_group.get("interval") or "15s", f"group {name!r} interval")
        group = await session.scalar(select(RuleGroup).where(RuleGroup.name == name))
        if group is None:
            group = await rule_service.create_group(
                session, name=name, interval_s=interval or 15.0, by=by
            )
        else:
            group.interval_s = interval or group.interval_s
            if replace:
                for kind in (Rule, RecordingRule):
                    for old in await session.scalars(select(kind).where(kind.group_id == group.id)):
                        await session.delete(old)
                        replaced += 1
                await session.flush()
        group_names.append(name)
        for rule_index, raw in enumerate(raw_group.get("rules") or []):
            where = f"groups[{group_index}].rules[{rule_index}]"
            if isinstance(raw, dict) and "record" in raw:
                fields = _parse_recording(raw, where)
                try:
                    await recording.create_recording(
                        session, group=name, enabled=True, by=by, audit_it=False, **fields
                    )
                except DomainError as exc:
                    raise Invalid(
                        f"{where} ({fields['record']}): {exc.message}", code=exc.code
                    ) from None
                recorded += 1
                continue
            fields = _parse_rule(raw, where)
            try:
                await rule_service.create_rule(
                    session, group=name, enabled=True, by=by, audit_it=False, **fields
                )
            except DomainError as exc:
                raise Invalid(f"{where} ({fields['name']}): {exc.message}", code=exc.code) from None
            created += 1
    await audit.record(
        session,
        by=by,
        action="alert_rule.import",
        target_type="alert_rule",
        summary=f"imported {created} alerting and {recorded} recording rules into "
        f"{', '.join(group_names)}",
        after={
            "groups": group_names,
            "created": created,
            "recording": recorded,
            "replaced": replaced,
        },
    )
    return {
        "groups": group_names,
        "created": created,
        "recording": recorded,
        "replaced": replaced,
        "skipped": skipped,
    }


def _record_doc(rule: RecordingRule) -> dict[str, Any]:
    doc: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        doc["labels"] = dict(rule.labels)
    return doc


def _rule_doc(rule: Rule) -> dict[str, Any]:
    doc: dict[str, Any] = {"alert": rule.name, "expr": rule.expr}
    if rule.for_s:
        doc["for"] = format_duration(rule.for_s)
    if rule.keep_firing_for_s:
        doc["keep_firing_for"] = format_duration(rule.keep_firing_for_s)
    labels = dict(rule.labels)
    labels.setdefault("severity", rule.severity)
    doc["labels"] = labels
    if rule.annotations:
        doc["annotations"] = dict(rule.annotations)
    return doc


async def export_rules(
    session: AsyncSession, *, group_id: int | None = None, include_disabled: bool = False
) -> str:
    """A Prometheus rule file of the (enabled) rules, grouped as they are here."""
    query = select(RuleGroup).order_by(RuleGroup.name)
    if group_id is not None:
        query = query.where(RuleGroup.id == group_id)
    groups = []
    for group in await session.scalars(query):
        rule_query = select(Rule).where(Rule.group_id == group.id).order_by(Rule.position, Rule.id)
        if not include_disabled:
            rule_query = rule_query.where(Rule.enabled.is_(True))
        record_query = (
            select(RecordingRule)
            .where(RecordingRule.group_id == group.id)
            .order_by(RecordingRule.position, RecordingRule.id)
        )
        if not include_disabled:
            record_query = record_query.where(RecordingRule.enabled.is_(True))
        # Recording rules first: that is the order they are evaluated in here.
        rules = [_record_doc(r) for r in await session.scalars(record_query)]
        rules += [_rule_doc(r) for r in await session.scalars(rule_query)]
        groups.append(
            {"name": group.name, "interval": format_duration(group.interval_s), "rules": rules}
        )
    return yaml.safe_dump({"groups": groups}, sort_keys=False, allow_unicode=True, width=1000)
