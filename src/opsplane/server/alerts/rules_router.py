"""HTTP API: rule groups, rules, the threshold builder, rule-file import and export."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from opsplane.server.alerts import builder, recording, rulefiles, threshold_rules
from opsplane.server.alerts import rules as service
from opsplane.server.alerts.evaluation import RuleSpec, alert_labels
from opsplane.server.alerts.models import RecordingRule
from opsplane.server.alerts.scheduler import QueryResultError, samples_of
from opsplane.server.alerts.schemas import (
    ImportResult,
    PreviewAlert,
    RecordingCreate,
    RecordingRead,
    RecordingUpdate,
    RuleCreate,
    RuleGroupCreate,
    RuleGroupRead,
    RuleGroupUpdate,
    RulePreview,
    RulePreviewRequest,
    RuleRead,
    RuleUpdate,
    ThresholdPreview,
    ThresholdRule,
)
from opsplane.server.alerts.views import recording_read, rule_read
from opsplane.server.deps import ActorDep, AsOperator, AsViewer, ContextDep, SessionDep
from opsplane.server.errors import Invalid, Unavailable
from opsplane.server.metrics.model import QueryError
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/alerts", tags=["alerts: rules"])
PREVIEW_LIMIT = 500


async def _applied(ctx: ContextDep, session: SessionDep) -> None:
    """Commit, then let the engine pick the change up at once (and the UI stream know)."""
    await session.commit()
    await ctx.alerts.reload()
    ctx.alerts.on_change()


def _group_read(group: object, count: int) -> RuleGroupRead:
    return RuleGroupRead.model_validate(group).model_copy(update={"rule_count": count})


@router.get("/rule-groups", dependencies=[AsViewer])
async def list_rule_groups(session: SessionDep) -> list[RuleGroupRead]:
    """Rule groups with their evaluation interval and rule count."""
    return [_group_read(g, n) for g, n in await service.list_groups(session)]


@router.post("/rule-groups", status_code=201, dependencies=[AsOperator])
async def create_rule_group(
    body: RuleGroupCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleGroupRead:
    """Create an (empty) rule group."""
    group = await service.create_group(
        session, name=body.name, interval_s=float(body.interval), by=actor
    )
    await _applied(ctx, session)
    return _group_read(group, 0)


@router.patch("/rule-groups/{group_id}", dependencies=[AsOperator])
async def update_rule_group(
    group_id: int, body: RuleGroupUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleGroupRead:
    """Change a group's evaluation interval."""
    group = await service.update_group(
        session, group_id=group_id, interval_s=float(body.interval), by=actor
    )
    await _applied(ctx, session)
    return _group_read(group, len(ctx.alerts.rules_in_group(group.id)))


@router.delete("/rule-groups/{group_id}", status_code=204, dependencies=[AsOperator])
async def delete_rule_group(
    group_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> None:
    """Delete a group and its rules (their firing alerts resolve)."""
    await service.delete_group(session, group_id=group_id, by=actor)
    await _applied(ctx, session)


@router.get("/rules", dependencies=[AsViewer])
async def list_rules(
    ctx: ContextDep,
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    group_id: int | None = None,
    enabled: bool | None = None,
    severity: str | None = None,
    search: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[RuleRead]:
    """Alerting rules with live firing/pending counts; filter by group, state, search."""
    rows, next_cursor = await service.list_rules(
        session,
        limit=limit,
        cursor=cursor,
        group_id=group_id,
        enabled=enabled,
        severity=severity,
        search=search,
    )
    return Page(items=[rule_read(r, g, ctx.alerts) for r, g in rows], next_cursor=next_cursor)


@router.post("/rules", status_code=201, dependencies=[AsOperator])
async def create_rule(
    body: RuleCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """Create an alerting rule (Prometheus semantics; `name` is the alert name)."""
    rule = await service.create_rule(
        session,
        group=body.group,
        name=body.name,
        expr=body.expr,
        for_s=float(body.for_),
        keep_firing_for_s=float(body.keep_firing_for),
        severity=body.severity,
        labels=body.labels,
        annotations=body.annotations,
        enabled=body.enabled,
        by=actor,
    )
    await _applied(ctx, session)
    return rule_read(rule, body.group, ctx.alerts)


@router.post("/rules/preview", dependencies=[AsOperator])
async def preview_rule(body: RulePreviewRequest, ctx: ContextDep) -> RulePreview:
    """Evaluate an expression now and show the alerts it would raise (labels templated)."""
    service.check_rule(expr=body.expr, labels=body.labels, annotations=body.annotations)
    backend = ctx.alerts.query_backend()
    if backend is None:
        raise Unavailable("no query backend is configured", code="no_query_backend")
    spec = RuleSpec(
        id=0,
        group_id=0,
        name=body.name,
        expr=body.expr,
        severity=body.severity,
        labels=body.labels,
        annotations=body.annotations,
    )
    try:
        data = await backend.instant_query(
            body.expr, time.time(), timeout_s=ctx.settings.alerts_query_timeout
        )
        samples = samples_of(data)
    except (QueryError, QueryResultError) as exc:
        raise Invalid(f"the query failed: {exc}", code="query_failed") from None
    alerts = []
    for series, value in samples[:PREVIEW_LIMIT]:
        labels, annotations = alert_labels(spec, series, value, {})
        alerts.append(PreviewAlert(labels=labels, annotations=annotations, value=value))
    return RulePreview(alerts=alerts, fast_path=builder.fast_path_of(body.expr) is not None)


@router.post("/rules/threshold/preview", dependencies=[AsOperator])
async def preview_threshold_rule(body: ThresholdRule) -> ThresholdPreview:
    """The PromQL a threshold rule compiles to, and whether it gets the ingest fast path."""
    expr, eval_expr = builder.compile_threshold(body.model_dump())
    return ThresholdPreview(
        expr=expr, eval_expr=eval_expr, fast_path=builder.fast_path_of(eval_expr) is not None
    )


@router.post("/rules/threshold", status_code=201, dependencies=[AsOperator])
async def create_threshold_rule(
    body: ThresholdRule, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """The rule builder: metric, scope (labels, nodes), operator, threshold, for, severity."""
    rule = await threshold_rules.create_threshold_rule(session, spec=body.model_dump(), by=actor)
    await _applied(ctx, session)
    return rule_read(rule, body.group, ctx.alerts)


@router.post(
    "/rules/import",
    dependencies=[AsOperator],
    openapi_extra={
        "requestBody": {
            "content": {"application/yaml": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
)
async def import_rules(
    request: Request,
    ctx: ContextDep,
    actor: ActorDep,
    session: SessionDep,
    replace: Annotated[bool, Query(description="Replace the rules of same-named groups")] = True,
) -> ImportResult:
    """Import a Prometheus rule file (YAML body); all or nothing."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the rule file must be UTF-8", code="bad_rule_file") from None
    result = await rulefiles.import_rules(session, text=text, by=actor, replace=replace)
    await _applied(ctx, session)
    return ImportResult(**result)


@router.get(
    "/rules/export",
    response_class=Response,
    dependencies=[AsViewer],
    responses={200: {"content": {"application/yaml": {}}}},
)
async def export_rules(
    session: SessionDep, group_id: int | None = None, include_disabled: bool = False
) -> Response:
    """The rules as a Prometheus rule file (`promtool check rules` accepts it)."""
    text = await rulefiles.export_rules(
        session, group_id=group_id, include_disabled=include_disabled
    )
    return Response(
        text,
        media_type="application/yaml",
        headers={"content-disposition": 'attachment; filename="opsplane-rules.yml"'},
    )


@router.get("/rules/{rule_id}", dependencies=[AsViewer])
async def get_rule(rule_id: int, ctx: ContextDep, session: SessionDep) -> RuleRead:
    """One rule."""
    rule = await service.get_rule(session, rule_id)
    group = await service.get_group(session, rule.group_id)
    return rule_read(rule, group.name, ctx.alerts)


@router.patch("/rules/{rule_id}", dependencies=[AsOperator])
async def update_rule(
    rule_id: int, body: RuleUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """Change a rule; active alerts carry over (like a Prometheus reload)."""
    changes = body.model_dump(exclude_unset=True)
    renamed = {"for_": "for_s", "keep_firing_for": "keep_firing_for_s"}
    changes = {renamed.get(k, k): v for k, v in changes.items() if v is not None or k == "group"}
    rule = await service.update_rule(session, rule_id=rule_id, changes=changes, by=actor)
    group = await service.get_group(session, rule.group_id)
    await _applied(ctx, session)
    return rule_read(rule, group.name, ctx.alerts)


@router.put("/rules/{rule_id}/threshold", dependencies=[AsOperator])
async def replace_threshold_rule(
    rule_id: int, body: ThresholdRule, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """Edit a rule in the threshold builder (the body of a new threshold rule): compiled
    again; id, active alerts and history stay; annotations other than `summary` are kept."""
    rule = await threshold_rules.replace_threshold_rule(
        session, rule_id=rule_id, spec=body.model_dump(), by=actor
    )
    await _applied(ctx, session)
    return rule_read(rule, body.group, ctx.alerts)


@router.post("/rules/{rule_id}/enable", dependencies=[AsOperator])
async def enable_rule(
    rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """Enable a rule."""
    rule = await service.set_enabled(session, rule_id=rule_id, enabled=True, by=actor)
    group = await service.get_group(session, rule.group_id)
    await _applied(ctx, session)
    return rule_read(rule, group.name, ctx.alerts)


@router.post("/rules/{rule_id}/disable", dependencies=[AsOperator])
async def disable_rule(
    rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RuleRead:
    """Disable a rule: its firing alerts resolve, pending ones are dropped."""
    rule = await service.set_enabled(session, rule_id=rule_id, enabled=False, by=actor)
    group = await service.get_group(session, rule.group_id)
    await _applied(ctx, session)
    return rule_read(rule, group.name, ctx.alerts)


@router.delete("/rules/{rule_id}", status_code=204, dependencies=[AsOperator])
async def delete_rule(rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep) -> None:
    """Delete a rule (its alert history stays)."""
    await service.delete_rule(session, rule_id=rule_id, by=actor)
    await _applied(ctx, session)


# -- recording rules ------------------------------------------------------------------------


async def _recording_read(
    session: SessionDep, ctx: ContextDep, row: RecordingRule
) -> RecordingRead:
    group = await service.get_group(session, row.group_id)
    return recording_read(row, group.name, ctx.alerts)


@router.get("/recording-rules", dependencies=[AsViewer])
async def list_recording_rules(
    ctx: ContextDep, session: SessionDep, group_id: int | None = None
) -> list[RecordingRead]:
    """Recording rules by group and position, with the health of their last evaluation."""
    names = {g.id: g.name for g, _ in await service.list_groups(session)}
    rows = await recording.list_recordings(session, group_id=group_id)
    return [recording_read(r, names.get(r.group_id, ""), ctx.alerts) for r in rows]


@router.post("/recording-rules", status_code=201, dependencies=[AsOperator])
async def create_recording_rule(
    body: RecordingCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RecordingRead:
    """Create a recording rule: `expr` evaluated on its group's interval, stored as `record`."""
    row = await recording.create_recording(
        session,
        group=body.group,
        record=body.record,
        expr=body.expr,
        labels=body.labels,
        enabled=body.enabled,
        by=actor,
    )
    await _applied(ctx, session)
    return await _recording_read(session, ctx, row)


@router.get("/recording-rules/{rule_id}", dependencies=[AsViewer])
async def get_recording_rule(rule_id: int, ctx: ContextDep, session: SessionDep) -> RecordingRead:
    return await _recording_read(session, ctx, await recording.get_recording(session, rule_id))


@router.patch("/recording-rules/{rule_id}", dependencies=[AsOperator])
async def update_recording_rule(
    rule_id: int, body: RecordingUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> RecordingRead:
    """Change a recording rule (fields left out stay); `enabled: false` stops recording."""
    row = await recording.update_recording(
        session, rule_id=rule_id, changes=body.model_dump(exclude_none=True), by=actor
    )
    await _applied(ctx, session)
    return await _recording_read(session, ctx, row)


@router.delete("/recording-rules/{rule_id}", status_code=204, dependencies=[AsOperator])
async def delete_recording_rule(
    rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> None:
    """Delete a recording rule (what it recorded stays in the TSDB until retention)."""
    await recording.delete_recording(session, rule_id=rule_id, by=actor)
    await _applied(ctx, session)
