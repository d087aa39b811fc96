"""HTTP API: channels (and their test), the routing tree, silences, inhibition, delivery log.

Channels and routing need admin: they hold secrets and decide where alert data leaves the
platform. Silences and inhibition rules are day-to-day operations: operator.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from opsplane.server.alerts import delivery, inhibition, route_preview, routing, silences
from opsplane.server.alerts.channels import service as channels
from opsplane.server.alerts.channels.base import Notification, NotifyAlert
from opsplane.server.alerts.delivery import RetryPolicy
from opsplane.server.alerts.notify_schemas import (
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    DeliveryRead,
    InhibitRuleCreate,
    InhibitRuleRead,
    InhibitRuleUpdate,
    RoutePreview,
    RoutePreviewRequest,
    SilenceCreate,
    SilenceRead,
    SilenceUpdate,
    TestResult,
)
from opsplane.server.alerts.views import channel_read, silence_read
from opsplane.server.db import utcnow
from opsplane.server.deps import ActorDep, AsAdmin, AsOperator, AsViewer, ContextDep, SessionDep
from opsplane.server.fleet.service import parse_label_filters
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/alerts", tags=["alerts: notifications"])
LabelQuery = Annotated[list[str] | None, Query(description="key=value; repeat for more")]


async def _applied(ctx: ContextDep, session: SessionDep) -> None:
    """Commit, reload the notification config, tell the UI stream (silences mute alerts)."""
    await session.commit()
    await ctx.alerts.reload_notification_config()
    ctx.alerts.on_change()


@router.get("/channels", dependencies=[AsViewer])
async def list_channels(ctx: ContextDep, session: SessionDep) -> list[ChannelRead]:
    """Notification channels (secret settings are never returned)."""
    return [channel_read(c, ctx.alerts) for c in await channels.list_channels(session)]


@router.post("/channels", status_code=201, dependencies=[AsAdmin])
async def create_channel(
    body: ChannelCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> ChannelRead:
    """Create a channel: webhook, alertmanager, email, slack, dingtalk or wecom."""
    row = await channels.create_channel(
        session,
        name=body.name,
        type=body.type,
        settings=body.settings(),
        enabled=body.enabled,
        is_default=body.is_default,
        send_resolved=body.send_resolved,
        box=ctx.alerts.box,
        by=actor,
    )
    await _applied(ctx, session)
    return channel_read(row, ctx.alerts)


@router.get("/channels/{channel_id}", dependencies=[AsViewer])
async def get_channel(channel_id: int, ctx: ContextDep, session: SessionDep) -> ChannelRead:
    """One channel."""
    return channel_read(await channels.get_channel(session, channel_id), ctx.alerts)


@router.patch("/channels/{channel_id}", dependencies=[AsAdmin])
async def update_channel(
    channel_id: int, body: ChannelUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> ChannelRead:
    """Change a channel: settings left out keep their stored values (secrets too), a setting
    set to null is cleared (back to its default; required ones cannot be cleared)."""
    changes = body.model_dump(
        exclude_unset=True, include={"name", "enabled", "is_default", "send_resolved"}
    )
    row = await channels.update_channel(
        session,
        channel_id=channel_id,
        changes=changes,
        settings=body.settings(),
        box=ctx.alerts.box,
        by=actor,
    )
    await _applied(ctx, session)
    return channel_read(row, ctx.alerts)


@router.delete("/channels/{channel_id}", status_code=204, dependencies=[AsAdmin])
async def delete_channel(
    channel_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> None:
    """Delete a channel (its delivery log stays)."""
    await channels.delete_channel(session, channel_id=channel_id, by=actor)
    await _applied(ctx, session)


@router.post("/channels/{channel_id}/test", dependencies=[AsOperator])
async def test_channel(channel_id: int, ctx: ContextDep, session: SessionDep) -> TestResult:
    """Send a test notification now (one attempt, logged like any delivery)."""
    config = channels.to_config(await channels.get_channel(session, channel_id), ctx.alerts.box)
    now = utcnow()
    alert = NotifyAlert(
        fingerprint="0000000000000000",
        labels={"alertname": "OpsplaneTest", "severity": "info"},
        annotations={"summary": "Test notification from opsplane"},
        status="firing",
        starts_at=now,
        ends_at=now + timedelta(minutes=5),
    )
    n = Notification(
        id=uuid.uuid4().hex[:16],
        kind="test",
        receiver=config.name,
        group_key="test",
        group_labels={"alertname": "OpsplaneTest"},
        alerts=(alert,),
        external_url=ctx.alerts.external_url,
    )
    outcome = await ctx.alerts.deliverer.deliver(config, n, RetryPolicy(max_attempts=1))
    return TestResult(
        ok=outcome.ok,
        http_status=outcome.http_status,
        error=outcome.error,
        latency_ms=round(outcome.latency_s * 1000, 3),
    )


@router.get("/routes", dependencies=[AsViewer])
async def get_routes(session: SessionDep) -> routing.RouteNode:
    """The routing tree (root first; unset fields inherit from the parent)."""
    return await routing.get_tree(session)


@router.put("/routes", dependencies=[AsAdmin])
async def put_routes(
    body: routing.RouteNode, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> routing.RouteNode:
    """Replace the routing tree."""
    tree = await routing.put_tree(session, tree=body, by=actor)
    await _applied(ctx, session)
    return tree


@router.get("/routes/preview", dependencies=[AsViewer])
async def preview_saved_routes(ctx: ContextDep, label: LabelQuery = None) -> RoutePreview:
    """Where an alert with these labels (`?label=k=v`, repeated) goes by the saved tree."""
    return route_preview.preview(ctx.alerts, ctx.alerts.router, parse_label_filters(label or []))


@router.post("/routes/preview", dependencies=[AsOperator])
async def preview_routes(body: RoutePreviewRequest, ctx: ContextDep) -> RoutePreview:
    """Where an alert with these labels goes: matched routes, receivers, grouping, muting.

    By `tree` when given (edits not saved yet), else by the saved tree.
    """
    engine = ctx.alerts
    if body.tree is None:
        return route_preview.preview(engine, engine.router, body.labels)
    compiled = routing.compile_tree(body.tree, engine.defaults)
    return route_preview.preview(engine, compiled, body.labels)


@router.get("/silences", dependencies=[AsViewer])
async def list_silences(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    state: Annotated[str | None, Query(pattern="^(active|pending|scheduled|expired)$")] = None,
    search: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[SilenceRead]:
    """Silences, newest first; filter by state (active, pending, scheduled, expired)."""
    rows, next_cursor = await silences.list_silences(
        session, limit=limit, cursor=cursor, state=state, search=search
    )
    return Page(items=[silence_read(r) for r in rows], next_cursor=next_cursor)


@router.post("/silences", status_code=201, dependencies=[AsOperator])
async def create_silence(
    body: SilenceCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> SilenceRead:
    """Silence alerts matching all matchers, for a time range or a recurring window."""
    row = await silences.create_silence(
        session,
        matchers=[m.model_dump() for m in body.matchers],
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        recurrence=body.recurrence,
        comment=body.comment,
        by=actor,
    )
    await _applied(ctx, session)
    return silence_read(row)


@router.get("/silences/{silence_id}", dependencies=[AsViewer])
async def get_silence(silence_id: int, session: SessionDep) -> SilenceRead:
    """One silence."""
    return silence_read(await silences.get_silence(session, silence_id))


@router.patch("/silences/{silence_id}", dependencies=[AsOperator])
async def update_silence(
    silence_id: int, body: SilenceUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> SilenceRead:
    """Change a silence that has not expired."""
    changes = body.model_dump(exclude_unset=True)
    if "matchers" in changes and changes["matchers"] is not None:
        changes["matchers"] = [dict(m) for m in changes["matchers"]]
    row = await silences.update_silence(session, silence_id=silence_id, changes=changes, by=actor)
    await _applied(ctx, session)
    return silence_read(row)


@router.delete("/silences/{silence_id}", dependencies=[AsOperator])
async def expire_silence(
    silence_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> SilenceRead:
    """Expire a silence now (it stays in the history)."""
    row = await silences.expire_silence(session, silence_id=silence_id, by=actor)
    await _applied(ctx, session)
    return silence_read(row)


@router.get("/inhibit-rules", dependencies=[AsViewer])
async def list_inhibit_rules(session: SessionDep) -> list[InhibitRuleRead]:
    """Inhibition rules."""
    return [InhibitRuleRead.model_validate(r) for r in await inhibition.list_rules(session)]


@router.post("/inhibit-rules", status_code=201, dependencies=[AsOperator])
async def create_inhibit_rule(
    body: InhibitRuleCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> InhibitRuleRead:
    """While a source alert fires, mute target alerts with the same `equal` labels."""
    row = await inhibition.create_rule(session, fields=body.model_dump(), by=actor)
    await _applied(ctx, session)
    return InhibitRuleRead.model_validate(row)


@router.patch("/inhibit-rules/{rule_id}", dependencies=[AsOperator])
async def update_inhibit_rule(
    rule_id: int, body: InhibitRuleUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> InhibitRuleRead:
    """Change an inhibition rule."""
    fields = body.model_dump(exclude_unset=True, exclude_none=True)
    row = await inhibition.update_rule(session, rule_id=rule_id, fields=fields, by=actor)
    await _applied(ctx, session)
    return InhibitRuleRead.model_validate(row)


@router.delete("/inhibit-rules/{rule_id}", status_code=204, dependencies=[AsOperator])
async def delete_inhibit_rule(
    rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> None:
    """Delete an inhibition rule."""
    await inhibition.delete_rule(session, rule_id=rule_id, by=actor)
    await _applied(ctx, session)


@router.get("/deliveries", dependencies=[AsViewer])
async def list_deliveries(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    channel_id: int | None = None,
    status: Annotated[str | None, Query(pattern="^(ok|retrying|failed)$")] = None,
    incident_id: int | None = None,
    notification_id: str | None = None,
) -> Page[DeliveryRead]:
    """The delivery log: every attempt, its status, HTTP status, latency and error."""
    rows, next_cursor = await delivery.list_deliveries(
        session,
        limit=limit,
        cursor=cursor,
        channel_id=channel_id,
        status=status,
        incident_id=incident_id,
        notification_id=notification_id,
    )
    return Page(items=[DeliveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)
