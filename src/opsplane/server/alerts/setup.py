"""Wiring of the alerts domain: the engine, its loops, the ingest fast path, its routes."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI

from opsplane.server.alerts.agentwatch import AgentWatches
from opsplane.server.alerts.alerts_router import router as alerts_router
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.alerts.fastpath import FastPathEvaluator
from opsplane.server.alerts.instruments import AlertMetrics
from opsplane.server.alerts.notify_router import router as notify_router
from opsplane.server.alerts.rules_router import router as rules_router
from opsplane.server.alerts.scheduler import Scheduler
from opsplane.server.alerts.snapshots import alerts_snapshot_builder
from opsplane.server.bus.subjects import INGEST_METRICS
from opsplane.server.context import ServerContext
from opsplane.server.fleet.configpush import push_config

log = structlog.get_logger(__name__)


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    engine = AlertEngine(
        db=ctx.db,
        settings=ctx.settings,
        signing_key=ctx.signing_key,
        metrics=AlertMetrics(ctx.instruments.registry),
    )
    # The query engine may be wired after us (or not at all): look it up when evaluating.
    engine.query_backend = lambda: getattr(ctx, "query_backend", None)
    ctx.alerts = engine
    # Recording rules store through the metrics domain (looked up when writing).
    engine.record_to = lambda batch: ctx.tsdb.append(batch)
    fast = FastPathEvaluator(engine)
    scheduler = Scheduler(engine, fast, timeout_s=ctx.settings.alerts_query_timeout)
    engine.after_reload.append(scheduler.reconcile)
    engine.after_reload.append(lambda: fast.forget(set(engine.states)))
    watches = AgentWatches(
        engine,
        ctx.db,
        connected=ctx.links.node_ids,
        push=lambda node: push_config(ctx, node),
    )
    engine.after_reload.append(watches.refresh)
    ctx.agent_config.append(watches.contribute)
    engine.watches = watches
    engine.on_change = lambda: ctx.stream.touch("alerts")
    ctx.stream.register("alerts", alerts_snapshot_builder(ctx))
    engine.parts = (fast, scheduler)
    api.include_router(rules_router)
    api.include_router(notify_router)
    api.include_router(alerts_router)


async def _housekeeping(ctx: ServerContext) -> None:
    """Escalations and the active-alert gauge, every couple of seconds."""
    engine = ctx.alerts
    while True:
        await asyncio.sleep(2.0)
        try:
            await engine.escalate_due()
        except Exception:
            log.exception("escalation check failed")
        for state, count in engine.count_alerts().items():
            engine.metrics.alerts.labels(state).set(count)


async def start(ctx: ServerContext) -> list[asyncio.Task[Any]]:
    engine = ctx.alerts
    fast, scheduler = engine.parts
    await engine.leadership.elect()
    await engine.reload()
    await engine.restore()
    await ctx.bus.subscribe(INGEST_METRICS, fast.on_ingest, group="alerts-fast-path")
    return [
        asyncio.create_task(engine.dispatcher.run(), name="alerts-dispatcher"),
        asyncio.create_task(fast.run(), name="alerts-fast-path"),
        asyncio.create_task(
            scheduler.run(ctx.settings.alerts_reload_interval), name="alerts-scheduler"
        ),
        asyncio.create_task(_housekeeping(ctx), name="alerts-housekeeping"),
        asyncio.create_task(engine.leadership.run(), name="alerts-leadership"),
    ]


async def stop(ctx: ServerContext) -> None:
    await ctx.alerts.watches.close()
    await ctx.alerts.close()
