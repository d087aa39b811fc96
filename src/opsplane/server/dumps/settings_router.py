"""Pipeline configuration HTTP API: watch rules (pushed to agents live), run-time settings
(backend, Jenkins, AI endpoint, retry policy, upload limits) and the dashboard figures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from opsplane.server.deps import ActorDep, AsAdmin, AsOperator, AsViewer, ContextDep, SessionDep
from opsplane.server.dumps import config as dump_config
from opsplane.server.dumps import retries, watchrules
from opsplane.server.dumps import stats as dump_stats
from opsplane.server.dumps.schemas import (
    AppCount,
    DashboardStats,
    DumpSettingsRead,
    DumpSettingsUpdate,
    RetryWithFile,
    WatchRuleCreate,
    WatchRuleRead,
    WatchRuleUpdate,
)
from opsplane.server.dumps.states import FileState, RetryState, Step
from opsplane.server.dumps.views import retry_read, rule_read
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["dumps"])


@router.get("/dumps/watch-rules", dependencies=[AsViewer])
async def list_watch_rules(session: SessionDep) -> list[WatchRuleRead]:
    """Every watch rule."""
    return [rule_read(r) for r in await watchrules.list_rules(session)]


@router.post("/dumps/watch-rules", status_code=201, dependencies=[AsOperator])
async def create_watch_rule(
    body: WatchRuleCreate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> WatchRuleRead:
    """Create a watch rule; the agents it selects get it at once."""
    row = await watchrules.create_rule(session, values=body.model_dump(), by=actor)
    await session.commit()
    await ctx.dumps.rules_changed([watchrules.spec_of(row)])
    return rule_read(row)


@router.get("/dumps/watch-rules/{rule_id}", dependencies=[AsViewer])
async def get_watch_rule(rule_id: int, session: SessionDep) -> WatchRuleRead:
    """One watch rule."""
    return rule_read(await watchrules.get_rule(session, rule_id))


@router.patch("/dumps/watch-rules/{rule_id}", dependencies=[AsOperator])
async def update_watch_rule(
    rule_id: int, body: WatchRuleUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> WatchRuleRead:
    """Change a watch rule; old and new target agents get their new rules at once."""
    changes = body.model_dump(exclude_unset=True)
    row, old = await watchrules.update_rule(session, rule_id=rule_id, changes=changes, by=actor)
    await session.commit()
    await ctx.dumps.rules_changed([old, watchrules.spec_of(row)])
    return rule_read(row)


@router.delete("/dumps/watch-rules/{rule_id}", status_code=204, dependencies=[AsOperator])
async def delete_watch_rule(
    rule_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> None:
    """Delete a watch rule; its agents stop watching at once."""
    old = await watchrules.delete_rule(session, rule_id=rule_id, by=actor)
    await session.commit()
    await ctx.dumps.rules_changed([old])


@router.get("/dumps/retries", dependencies=[AsViewer])
async def list_retries(
    session: SessionDep,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
    status: Annotated[list[RetryState] | None, Query(description="Repeat to OR.")] = None,
    retry_type: Annotated[Step | None, Query(alias="type")] = None,
    manual: bool | None = None,
) -> Page[RetryWithFile]:
    """Retry history across files, newest first (retry management)."""
    rows, next_cursor = await retries.list_retries(
        session,
        limit=limit,
        cursor=cursor,
        status=[s.value for s in status or ()],
        retry_type=retry_type.value if retry_type else None,
        manual=manual,
    )
    items = [
        RetryWithFile(
            **retry_read(r).model_dump(),
            file_id=f.id,
            file_name=f.file_name,
            node=f.node_name,
            app=f.app,
            file_status=FileState(f.status),
        )
        for r, f in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/dumps/settings", dependencies=[AsViewer])
async def get_settings(ctx: ContextDep) -> DumpSettingsRead:
    """The pipeline's settings in force (secrets only as `*_set`)."""
    return DumpSettingsRead(**(await ctx.dumps.reload_config()).public())


@router.put("/dumps/settings", dependencies=[AsAdmin])
async def put_settings(
    body: DumpSettingsUpdate, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> DumpSettingsRead:
    """Change settings (backend, Jenkins, AI endpoint, retry policy, upload limits)."""
    await dump_config.update(
        session,
        changes=body.model_dump(exclude_unset=True),
        settings=ctx.settings,
        box=ctx.dumps.box,
        by=actor,
    )
    await session.commit()
    config = await ctx.dumps.reload_config()
    await ctx.dumps.rules_changed(None)  # upload limits are part of every agent's config
    return DumpSettingsRead(**config.public())


@router.get("/dumps/stats", dependencies=[AsViewer])
async def dashboard(ctx: ContextDep, session: SessionDep) -> DashboardStats:
    """Dashboard figures: today's dumps and failures, mean processing time, top apps..."""
    figures = await dump_stats.collect(session)
    ctx.dumps.metrics.update(figures)
    return DashboardStats(
        by_status=figures.by_status,
        today=figures.today,
        failed_today=figures.failed_today,
        mean_processing_seconds=figures.mean_processing_seconds,
        top_apps=[AppCount(app=a, count=n) for a, n in figures.top_apps],
        by_node=figures.by_node,
        per_app_day=[
            {"app": app, "day": day, "count": n}
            for (app, day), n in sorted(figures.per_app_day.items())
        ],
        success_rate=figures.success_rate,
        retry_success_rate=figures.retry_success_rate,
        error_types=figures.error_types,
    )
