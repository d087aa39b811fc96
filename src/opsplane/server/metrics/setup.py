"""Wiring of the metrics domain: storage (TSDB or remote backend), ingest, remote write in."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI

from opsplane.server.context import ServerContext
from opsplane.server.metrics import prometheus_api
from opsplane.server.metrics.ingest import subscribe_ingest
from opsplane.server.metrics.local_backend import LocalQueryBackend
from opsplane.server.metrics.sink import TSDBSink
from opsplane.server.metrics.tsdb import TSDB, TSDBConfig
from opsplane.server.metrics.write_api import router as write_router
from opsplane.server.settings import Settings


def build_storage(settings: Settings) -> TSDB:
    """The embedded TSDB, or (`metrics_backend = "prometheus"`) the remote-writing backend."""
    if settings.metrics_backend == "prometheus":
        from opsplane.server.metrics.remote import RemoteStorage

        return RemoteStorage.from_settings(settings)
    return TSDB(TSDBConfig.from_settings(settings))


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    # Storage: `ctx.tsdb` is the Queryable (embedded TSDB, or the remote backend's view);
    # `ctx.metrics` is the spine's MetricSink over it (agent batches, fleet pages).
    ctx.tsdb = build_storage(ctx.settings)
    ctx.metrics = TSDBSink(ctx.tsdb)
    app.include_router(write_router)
    # Query side: the Prometheus HTTP API, answered by the PromQL engine over the store.
    # (the remote backend forwards queries to the remote TSDB's own API instead)
    ctx.query_backend = ctx.tsdb.query_backend or LocalQueryBackend(ctx.tsdb)
    app.include_router(prometheus_api.router, prefix="/prometheus/api/v1")


async def start(ctx: ServerContext) -> list[asyncio.Task[None]]:
    tasks = await ctx.tsdb.start()
    await subscribe_ingest(ctx.bus, ctx.metrics, ctx.stream)
    return tasks


async def stop(ctx: ServerContext) -> None:
    await ctx.tsdb.stop()
