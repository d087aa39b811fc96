"""HTTP API: alerts, their history, incidents (ack, resolve, events) and Alertmanager in.

Included after the other alert routers: `/alerts/{alert_id}` must not shadow
`/alerts/rules`, `/alerts/silences`, ...
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from opsplane.server.alerts import alertmanager_in, history, incidents, silences
from opsplane.server.alerts.alertmanager_in import AMWebhook, Received
from opsplane.server.alerts.models import AlertState, Incident, IncidentState
from opsplane.server.alerts.notify_schemas import SilenceRead
from opsplane.server.alerts.schemas import (
    AlertEventRead,
    AlertRead,
    AlertsSummary,
    IncidentAction,
    IncidentDetail,
    IncidentEventRead,
    IncidentRead,
    SilenceFromAlert,
)
from opsplane.server.alerts.snapshots import alerts_summary
from opsplane.server.alerts.views import alert_read, event_read, incident_read, silence_read
from opsplane.server.db import utcnow
from opsplane.server.deps import ActorDep, AsOperator, AsViewer, ContextDep, SessionDep
from opsplane.server.fleet.service import parse_label_filters
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["alerts"])
StateQuery = Annotated[list[AlertState] | None, Query(description="Repeat to OR.")]
LabelQuery = Annotated[list[str] | None, Query(description="key=value; repeat to AND")]
SearchQuery = Annotated[str | None, Query(max_length=128)]


@router.post("/alerts/alertmanager", dependencies=[AsOperator])
async def receive_alertmanager(body: AMWebhook, ctx: ContextDep, session: SessionDep) -> Received:
    """Alertmanager's webhook (version 4): alerts become incidents, resolved by fingerprint.

    Point Alertmanager's `webhook_configs` here with `http_config.authorization` carrying an
    operator API token.
    """
    for alert in body.alerts:
        ctx.alerts.metrics.received.labels(alert.status).inc()
    summary, changed = await alertmanager_in.receive(
        session, payload=body, group_by=ctx.alerts.group_by
    )
    await session.commit()
    ctx.alerts.dispatch(changed)
    return summary


@router.get("/alerts", dependencies=[AsViewer])
async def list_alerts(
    ctx: ContextDep,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    state: StateQuery = None,
    severity: str | None = None,
    rule_id: int | None = None,
    source: Annotated[
        str | None, Query(max_length=16, description="rule, alertmanager, ...")
    ] = None,
    incident_id: int | None = None,
    label: LabelQuery = None,
    search: SearchQuery = None,
    since: datetime | None = None,
) -> Page[AlertRead]:
    """Alerts, newest first: `?state=firing` for what fires now; resolved ones are history."""
    rows, next_cursor = await history.list_alerts(
        session,
        limit=limit,
        cursor=cursor,
        state=[s.value for s in state or []],
        severity=severity,
        rule_id=rule_id,
        source=source,
        incident_id=incident_id,
        search=search,
        labels=parse_label_filters(label or []),
        since=since,
    )
    return Page(items=[alert_read(a, ctx.alerts) for a in rows], next_cursor=next_cursor)


@router.get("/alerts/history", dependencies=[AsViewer])
async def alert_history(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    alert_id: int | None = None,
    rule_id: int | None = None,
    to_state: AlertState | None = None,
) -> Page[AlertEventRead]:
    """Every alert state change, newest first, with the alert's name, labels and incident."""
    rows, next_cursor = await history.list_events(
        session,
        limit=limit,
        cursor=cursor,
        alert_id=alert_id,
        rule_id=rule_id,
        to_state=to_state.value if to_state else None,
    )
    return Page(items=[event_read(e) for e in rows], next_cursor=next_cursor)


@router.get("/alerts/summary", dependencies=[AsViewer])
async def get_alerts_summary(ctx: ContextDep) -> AlertsSummary:
    """Live counts (alerts by state and severity, incidents, rules), failing rules and the
    newest firing alerts: the same document the UI stream's `alerts` topic pushes."""
    return await alerts_summary(ctx)


@router.get("/alerts/{alert_id}", dependencies=[AsViewer])
async def get_alert(alert_id: int, ctx: ContextDep, session: SessionDep) -> AlertRead:
    """One alert, with whether it is silenced or inhibited now."""
    return alert_read(await history.get_alert(session, alert_id), ctx.alerts)


@router.post("/alerts/{alert_id}/silence", status_code=201, dependencies=[AsOperator])
async def silence_alert(
    alert_id: int, body: SilenceFromAlert, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> SilenceRead:
    """Silence from an alert: equality matchers on its labels, starting now."""
    alert = await history.get_alert(session, alert_id)
    names = body.label_names or sorted(alert.labels)
    matchers = [
        {"name": k, "op": "=", "value": alert.labels[k]} for k in names if k in alert.labels
    ]
    now = utcnow()
    row = await silences.create_silence(
        session,
        matchers=matchers,
        starts_at=now,
        ends_at=now + timedelta(seconds=float(body.duration)),
        recurrence=None,
        comment=body.comment or f"silenced from alert {alert.id} ({alert.name})",
        by=actor,
    )
    await session.commit()
    await ctx.alerts.reload_notification_config()
    ctx.alerts.on_change()
    return silence_read(row)


@router.get("/incidents", dependencies=[AsViewer])
async def list_incidents(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    state: Annotated[list[IncidentState] | None, Query()] = None,
    severity: str | None = None,
    search: SearchQuery = None,
    since: datetime | None = None,
) -> Page[IncidentRead]:
    """Incidents, newest first; filter by state, severity, title search."""
    rows, next_cursor = await incidents.list_incidents(
        session,
        limit=limit,
        cursor=cursor,
        state=[s.value for s in state or []],
        severity=severity,
        search=search,
        since=since,
    )
    counts = await incidents.alert_counts(session, [r.id for r in rows])
    return Page(items=[incident_read(r, counts) for r in rows], next_cursor=next_cursor)


@router.get("/incidents/{incident_id}", dependencies=[AsViewer])
async def get_incident(incident_id: int, ctx: ContextDep, session: SessionDep) -> IncidentDetail:
    """An incident and its alerts."""
    incident = await incidents.get_incident(session, incident_id)
    alerts, _ = await history.list_alerts(session, limit=500, incident_id=incident_id)
    counts = await incidents.alert_counts(session, [incident_id])
    return IncidentDetail(
        **incident_read(incident, counts).model_dump(),
        alerts=[alert_read(a, ctx.alerts) for a in alerts],
    )


@router.get("/incidents/{incident_id}/events", dependencies=[AsViewer])
async def incident_events(
    incident_id: int, session: SessionDep, limit: LimitQuery = 100, cursor: CursorQuery = None
) -> Page[IncidentEventRead]:
    """The incident's history, oldest first (opened, alerts, ack, escalation, resolved)."""
    rows, next_cursor = await incidents.list_events(
        session, incident_id=incident_id, limit=limit, cursor=cursor
    )
    return Page(items=[IncidentEventRead.model_validate(e) for e in rows], next_cursor=next_cursor)


@router.post("/incidents/{incident_id}/ack", dependencies=[AsOperator])
async def acknowledge_incident(
    incident_id: int, body: IncidentAction, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> IncidentRead:
    """Acknowledge: records who and when, and stops escalation."""
    incident = await incidents.acknowledge(
        session, incident_id=incident_id, comment=body.comment, by=actor
    )
    return await _changed(ctx, session, incident)


@router.post("/incidents/{incident_id}/resolve", dependencies=[AsOperator])
async def resolve_incident(
    incident_id: int, body: IncidentAction, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> IncidentRead:
    """Resolve by hand."""
    incident = await incidents.resolve(
        session, incident_id=incident_id, comment=body.comment, by=actor
    )
    return await _changed(ctx, session, incident)


async def _changed(ctx: ContextDep, session: SessionDep, incident: Incident) -> IncidentRead:
    """Commit a change made by hand and tell the UI stream about it."""
    read = incident_read(incident, await incidents.alert_counts(session, [incident.id]))
    await session.commit()
    ctx.alerts.on_change()
    return read
