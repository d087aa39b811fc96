"""Wiring of the dumps domain: blob store, pipeline, agent-config hook, routes, loops."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, FastAPI

from opsplane.server.blobs import LocalBlobStore
from opsplane.server.bus.subjects import INGEST_FILES
from opsplane.server.context import ServerContext
from opsplane.server.dumps.files_router import router as files_router
from opsplane.server.dumps.instruments import DumpMetrics
from opsplane.server.dumps.jenkins_router import router as jenkins_router
from opsplane.server.dumps.pipeline import DumpPipeline
from opsplane.server.dumps.reports_router import router as reports_router
from opsplane.server.dumps.settings_router import router as settings_router
from opsplane.server.dumps.snapshots import dumps_snapshot_builder
from opsplane.server.dumps.uploads_router import router as uploads_router


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    if not hasattr(ctx, "blobs"):  # the first domain that stores blobs sets the store up
        ctx.blobs = LocalBlobStore(ctx.settings.data_dir / "blobs")
    ctx.dumps = DumpPipeline(ctx, DumpMetrics(ctx.instruments.registry))
    # Watch rules and upload limits become part of every node's effective AgentConfig.
    ctx.agent_config.append(ctx.dumps.rules.contribute)
    ctx.stream.register("dumps", dumps_snapshot_builder(ctx))
    for router in (uploads_router, files_router, reports_router, jenkins_router, settings_router):
        api.include_router(router)


async def start(ctx: ServerContext) -> list[asyncio.Task[Any]]:
    pipeline = ctx.dumps
    await pipeline.reload_config()
    await pipeline.rules_changed([])  # load the rules (agents get them in their welcome)
    await ctx.bus.subscribe(INGEST_FILES, pipeline.ingest.on_files, group="dumps")
    await pipeline.recover()
    settings = ctx.settings
    return [
        asyncio.create_task(
            pipeline.retrying.run(settings.dumps_retry_check_interval), name="dumps-retries"
        ),
        asyncio.create_task(
            pipeline.refresh_periodically(settings.dumps_metrics_interval), name="dumps-metrics"
        ),
    ]


async def stop(ctx: ServerContext) -> None:
    await ctx.dumps.close()
