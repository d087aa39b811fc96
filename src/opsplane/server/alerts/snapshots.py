"""The alerting summary: `GET /alerts/summary` and the UI stream's `alerts` topic.

Counts of alerts, incidents and rules come from the database, so they cover every source
(rules, Alertmanager, other domains) and every server process; rule health and the
per-rule view come from this process's engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import history
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.alerts.incidents import OPEN_STATES
from opsplane.server.alerts.models import Alert, AlertState, Incident, Rule
from opsplane.server.alerts.schemas import (
    AlertCounts,
    AlertsSummary,
    FailingRule,
    IncidentCounts,
    RuleCounts,
)
from opsplane.server.alerts.views import alert_read
from opsplane.server.context import ServerContext
from opsplane.server.stream.hub import SnapshotBuilder

FAILING_LISTED = 20
ACTIVE = (AlertState.pending.value, AlertState.firing.value)


async def _alert_counts(session: AsyncSession) -> tuple[AlertCounts, dict[str, int]]:
    rows = await session.execute(
        select(Alert.state, Alert.severity, func.count())
        .where(Alert.state.in_(ACTIVE))
        .group_by(Alert.state, Alert.severity)
    )
    pending, by_severity = 0, dict[str, int]()
    for state, severity, count in rows.all():
        if state == AlertState.firing.value:
            by_severity[severity] = by_severity.get(severity, 0) + int(count)
        else:
            pending += int(count)
    return AlertCounts(pending=pending, firing=sum(by_severity.values())), by_severity


async def _incident_counts(session: AsyncSession) -> IncidentCounts:
    rows = await session.execute(
        select(Incident.state, func.count())
        .where(Incident.state.in_(OPEN_STATES))
        .group_by(Incident.state)
    )
    return IncidentCounts(**{state: int(count) for state, count in rows.all()})


async def _rule_counts(session: AsyncSession, engine: AlertEngine) -> RuleCounts:
    rows = await session.execute(select(Rule.enabled, func.count()).group_by(Rule.enabled))
    by_enabled = {bool(enabled): int(count) for enabled, count in rows.all()}
    return RuleCounts(
        total=sum(by_enabled.values()),
        enabled=by_enabled.get(True, 0),
        failing=len(engine.health.failing()),
    )


def _failing_rules(engine: AlertEngine) -> list[FailingRule]:
    out = []
    for rule_id, health in engine.health.failing()[:FAILING_LISTED]:
        state = engine.states.get(rule_id)
        if state is not None:
            out.append(
                FailingRule(
                    id=rule_id,
                    name=state.rule.name,
                    group_id=state.rule.group_id,
                    last_error=health.last_error,
                    last_evaluation=health.last_evaluation,
                )
            )
    return out


def _rule_firing_by_severity(engine: AlertEngine) -> dict[str, int]:
    by_severity: dict[str, int] = {}
    for state in engine.states.values():
        for alert in state.active.values():
            if alert.state is AlertState.firing:
                severity = alert.labels.get("severity", "")
                by_severity[severity] = by_severity.get(severity, 0) + 1
    return by_severity


async def alerts_summary(ctx: ServerContext) -> AlertsSummary:
    engine = ctx.alerts
    async with ctx.db.session() as session:
        firing, _ = await history.list_alerts(session, limit=20, state=[AlertState.firing.value])
        counts, by_severity = await _alert_counts(session)
        incidents = await _incident_counts(session)
        rules = await _rule_counts(session, engine)
    return AlertsSummary(
        counts=counts,
        firing_by_severity=by_severity,
        rule_firing_by_severity=_rule_firing_by_severity(engine),
        open_incidents=incidents.open + incidents.acknowledged,
        incidents=incidents,
        rules=rules,
        failing_rules=_failing_rules(engine),
        recent_firing=[alert_read(a, engine) for a in firing],
    )


async def alerts_snapshot(ctx: ServerContext) -> dict[str, Any]:
    return (await alerts_summary(ctx)).model_dump(mode="json")


def alerts_snapshot_builder(ctx: ServerContext) -> SnapshotBuilder:
    async def build(topic: str) -> dict[str, Any]:
        return await alerts_snapshot(ctx)

    return build
