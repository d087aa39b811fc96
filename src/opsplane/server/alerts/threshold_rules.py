"""Rules made with the threshold builder: created, and rebuilt when edited in the builder.

The builder's spec is kept on the rule (`Rule.builder`) so the UI can open it again; editing
the expression by hand (PATCH) detaches the rule from it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import builder
from opsplane.server.alerts.models import Rule
from opsplane.server.alerts.rules import check_rule, create_rule, get_rule, group_by_name, snapshot
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor


def threshold_fields(spec: dict[str, Any]) -> dict[str, Any]:
    """The rule a builder spec stands for: PromQL compiled, the spec kept for editing."""
    expr, _ = builder.compile_threshold(spec)
    summary = spec.get("summary") or (
        f"{spec['metric']} is {{{{ $value }}}} on {{{{ $labels.node }}}} "
        f"({spec['operator']} {builder.number_text(float(spec['threshold']))})"
    )
    kept = ("metric", "labels", "nodes", "operator", "threshold", "clear_threshold", "summary")
    return {
        "name": spec["name"],
        "expr": expr,
        "for_s": float(spec.get("for_", 0)),
        "keep_firing_for_s": float(spec.get("keep_firing_for", 0)),
        "severity": spec.get("severity", "warning"),
        "labels": dict(spec.get("alert_labels") or {}),
        "summary": summary,
        "enabled": spec.get("enabled", True),
        "builder": {k: spec[k] for k in kept if k in spec},
    }


async def create_threshold_rule(session: AsyncSession, *, spec: dict[str, Any], by: Actor) -> Rule:
    """Compile a builder spec to PromQL and save it as a rule (the spec is kept for editing)."""
    fields = threshold_fields(spec)
    return await create_rule(
        session,
        group=spec.get("group", "default"),
        name=fields["name"],
        expr=fields["expr"],
        for_s=fields["for_s"],
        keep_firing_for_s=fields["keep_firing_for_s"],
        severity=fields["severity"],
        labels=fields["labels"],
        annotations={"summary": fields["summary"]},
        enabled=fields["enabled"],
        by=by,
        builder_spec=fields["builder"],
    )


async def replace_threshold_rule(
    session: AsyncSession, *, rule_id: int, spec: dict[str, Any], by: Actor
) -> Rule:
    """Rebuild a rule from a builder spec: the same rule (id, alerts, history), compiled anew.

    Everything the builder sets is replaced; annotations other than `summary` stay.
    """
    rule = await get_rule(session, rule_id)
    before = snapshot(rule)
    fields = threshold_fields(spec)
    annotations = {**rule.annotations, "summary": fields.pop("summary")}
    check_rule(expr=fields["expr"], labels=fields["labels"], annotations=annotations)
    rule.group_id = (
        await group_by_name(session, spec.get("group", "default"), create=True, by=by)
    ).id
    rule.annotations = annotations
    for key, value in fields.items():
        setattr(rule, key, value)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_rule.update",
        target_type="alert_rule",
        target_id=rule.id,
        summary=f"{rule.name} (threshold builder)",
        before=before,
        after=snapshot(rule),
    )
    return rule
