"""Inhibition rules: a firing source alert mutes target alerts that share the `equal` labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.labels import matcher_to_dict, matchers_from_dicts, matches_all
from opsplane.server.alerts.models import InhibitRule
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import Invalid, NotFound
from opsplane.server.metrics.model import LabelMatcher

_FIELDS = ("name", "source_matchers", "target_matchers", "equal", "enabled")


@dataclass(frozen=True, slots=True)
class InhibitSpec:
    id: int
    source: tuple[LabelMatcher, ...]
    target: tuple[LabelMatcher, ...]
    equal: tuple[str, ...]

    @classmethod
    def of(cls, row: InhibitRule) -> InhibitSpec:
        return cls(
            row.id,
            tuple(matchers_from_dicts(row.source_matchers)),
            tuple(matchers_from_dicts(row.target_matchers)),
            tuple(row.equal),
        )

    def inhibits(self, target: Mapping[str, str], firing: Iterable[Mapping[str, str]]) -> bool:
        """Alertmanager's rule: an alert matching both sides is only muted by sources that do
        not also match the target side (so nothing ever inhibits itself)."""
        if not matches_all(self.target, target):
            return False
        both = matches_all(self.source, target)
        for source in firing:
            if source is target or not matches_all(self.source, source):
                continue
            if both and matches_all(self.target, source):
                continue
            if all(source.get(k, "") == target.get(k, "") for k in self.equal):
                return True
        return False


def inhibited(
    specs: Iterable[InhibitSpec], target: Mapping[str, str], firing: list[Mapping[str, str]]
) -> bool:
    return any(spec.inhibits(target, firing) for spec in specs)


def _check(source: list[dict[str, Any]], target: list[dict[str, Any]]) -> tuple[list[Any], ...]:
    parsed_source, parsed_target = matchers_from_dicts(source), matchers_from_dicts(target)
    if not parsed_source or not parsed_target:
        raise Invalid("an inhibition rule needs source and target matchers", code="bad_inhibit")
    return (
        [matcher_to_dict(m) for m in parsed_source],
        [matcher_to_dict(m) for m in parsed_target],
    )


def _snapshot(row: InhibitRule) -> dict[str, Any]:
    return {f: getattr(row, f) for f in _FIELDS}


async def get_rule(session: AsyncSession, rule_id: int) -> InhibitRule:
    row = await session.get(InhibitRule, rule_id)
    if row is None:
        raise NotFound(f"inhibition rule {rule_id} not found", code="inhibit_rule_not_found")
    return row


async def create_rule(session: AsyncSession, *, fields: dict[str, Any], by: Actor) -> InhibitRule:
    source, target = _check(fields["source_matchers"], fields["target_matchers"])
    row = InhibitRule(
        name=fields.get("name", ""),
        source_matchers=source,
        target_matchers=target,
        equal=list(fields.get("equal") or []),
        enabled=fields.get("enabled", True),
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_inhibit_rule.create",
        target_type="alert_inhibit_rule",
        target_id=row.id,
        summary=row.name,
        after=_snapshot(row),
    )
    return row


async def update_rule(
    session: AsyncSession, *, rule_id: int, fields: dict[str, Any], by: Actor
) -> InhibitRule:
    row = await get_rule(session, rule_id)
    before = _snapshot(row)
    source, target = _check(
        fields.get("source_matchers", row.source_matchers),
        fields.get("target_matchers", row.target_matchers),
    )
    row.source_matchers, row.target_matchers = source, target
    row.name = fields.get("name", row.name)
    row.equal = list(fields.get("equal", row.equal))
    row.enabled = fields.get("enabled", row.enabled)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_inhibit_rule.update",
        target_type="alert_inhibit_rule",
        target_id=row.id,
        summary=row.name,
        before=before,
        after=_snapshot(row),
    )
    return row


async def delete_rule(session: AsyncSession, *, rule_id: int, by: Actor) -> None:
    row = await get_rule(session, rule_id)
    before = _snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_inhibit_rule.delete",
        target_type="alert_inhibit_rule",
        target_id=rule_id,
        before=before,
    )


async def list_rules(session: AsyncSession) -> list[InhibitRule]:
    return list(await session.scalars(select(InhibitRule).order_by(InhibitRule.id)))


async def load_enabled(session: AsyncSession) -> list[InhibitSpec]:
    rows = await session.scalars(select(InhibitRule).where(InhibitRule.enabled.is_(True)))
    return [InhibitSpec.of(r) for r in rows]
