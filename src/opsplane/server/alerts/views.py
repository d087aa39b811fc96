"""ORM rows to API models, with what only the running engine knows (live values, muting)."""

from __future__ import annotations

from datetime import UTC, datetime

from opsplane.server.alerts.channels.service import secrets_set
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.alerts.history import EventOfAlert
from opsplane.server.alerts.models import (
    Alert,
    AlertState,
    Channel,
    Incident,
    RecordingRule,
    Rule,
    Silence,
)
from opsplane.server.alerts.notify_schemas import ChannelRead, SilenceRead
from opsplane.server.alerts.routing import MatcherModel
from opsplane.server.alerts.schemas import (
    AlertEventRead,
    AlertRead,
    IncidentRead,
    RecordingRead,
    RuleRead,
)
from opsplane.server.alerts.silences import state_of
from opsplane.server.db import utcnow


def rule_read(rule: Rule, group: str, engine: AlertEngine) -> RuleRead:
    state = engine.states.get(rule.id)
    active = list(state.active.values()) if state else []
    health = engine.health.of(rule.id)
    return RuleRead(
        id=rule.id,
        group=group,
        group_id=rule.group_id,
        name=rule.name,
        expr=rule.expr,
        for_=rule.for_s,
        keep_firing_for=rule.keep_firing_for_s,
        severity=rule.severity,
        labels=rule.labels,
        annotations=rule.annotations,
        enabled=rule.enabled,
        builder=rule.builder,
        fast_path=rule.id in engine.fast,
        firing=sum(a.state is AlertState.firing for a in active),
        pending=sum(a.state is AlertState.pending for a in active),
        health=health.health,
        last_error=health.last_error,
        last_evaluation=health.last_evaluation,
        evaluation_duration_ms=health.duration_ms,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
        created_by=rule.created_by,
    )


def recording_read(row: RecordingRule, group: str, engine: AlertEngine) -> RecordingRead:
    health = engine.recorder.health.get(row.id)
    return RecordingRead(
        id=row.id,
        group=group,
        group_id=row.group_id,
        record=row.record,
        expr=row.expr,
        labels=row.labels,
        enabled=row.enabled,
        health="unknown" if health is None else "err" if health.error else "ok",
        last_error=(health.error or "") if health else "",
        last_evaluation=datetime.fromtimestamp(health.at, UTC) if health else None,
        evaluation_duration_ms=health.duration_s * 1000 if health else None,
        series=health.series if health else 0,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
    )


def alert_read(alert: Alert, engine: AlertEngine) -> AlertRead:
    value = alert.value
    live = alert.state in (AlertState.firing.value, AlertState.pending.value)
    if live and alert.rule_id is not None:
        state = engine.states.get(alert.rule_id)
        current = state.active.get(alert.fingerprint) if state else None
        if current is not None and current.alert_id == alert.id:
            value = current.value
    return AlertRead(
        id=alert.id,
        source=alert.source,
        rule_id=alert.rule_id,
        name=alert.name,
        fingerprint=alert.fingerprint,
        state=AlertState(alert.state),
        severity=alert.severity,
        labels=alert.labels,
        annotations=alert.annotations,
        value=value,
        active_at=alert.active_at,
        fired_at=alert.fired_at,
        resolved_at=alert.resolved_at,
        incident_id=alert.incident_id,
        generator_url=alert.generator_url,
        silenced_by=engine.silenced_by(alert.labels) if live else [],
        inhibited=engine.inhibited(alert.labels) if live else False,
    )


def event_read(row: EventOfAlert) -> AlertEventRead:
    event = row.event
    return AlertEventRead(
        id=event.id,
        alert_id=event.alert_id,
        rule_id=event.rule_id,
        name=row.name,
        labels=row.labels,
        severity=row.severity,
        incident_id=row.incident_id,
        at=event.at,
        from_state=event.from_state,
        to_state=event.to_state,
        value=event.value,
        message=event.message,
    )


def incident_read(incident: Incident, counts: dict[int, tuple[int, int]]) -> IncidentRead:
    total, firing = counts.get(incident.id, (0, 0))
    return IncidentRead.model_validate(incident).model_copy(
        update={"alert_count": total, "firing_count": firing}
    )


def channel_read(row: Channel, engine: AlertEngine) -> ChannelRead:
    return ChannelRead(
        id=row.id,
        name=row.name,
        type=row.type,
        config=row.config,
        secrets_set=secrets_set(row, engine.box),
        enabled=row.enabled,
        is_default=row.is_default,
        send_resolved=row.send_resolved,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def silence_read(row: Silence) -> SilenceRead:
    return SilenceRead(
        id=row.id,
        matchers=[MatcherModel(**m) for m in row.matchers],
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        recurrence=row.recurrence,
        comment=row.comment,
        created_by=row.created_by,
        created_at=row.created_at,
        expired_at=row.expired_at,
        state=state_of(row, utcnow()),
    )
