"""`create_app(settings)`: the only place that wires the domains together.

Each domain has a `setup` module with `install(ctx, app, api)` (routes, shared objects),
`start(ctx)` (subscriptions, background loops) and `stop(ctx)`. Adding a domain is one
entry in DOMAINS; they are installed and started in this order and stopped in reverse.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

import structlog
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from opsplane import __version__
from opsplane.server import health
from opsplane.server.alerts import setup as alerts_setup
from opsplane.server.auth import setup as auth_setup
from opsplane.server.auth.ratelimit import LoginRateLimiter
from opsplane.server.bus.local import LocalBus
from opsplane.server.context import ServerContext
from opsplane.server.db import Database
from opsplane.server.deps import AsViewer, authenticate, public
from opsplane.server.dumps import setup as dumps_setup
from opsplane.server.errors import ERROR_RESPONSES, install_error_handlers
from opsplane.server.fleet import setup as fleet_setup
from opsplane.server.metrics import setup as metrics_setup
from opsplane.server.observability import (
    RequestMetricsMiddleware,
    SecurityHeadersMiddleware,
    ServerMetrics,
)
from opsplane.server.settings import Settings
from opsplane.server.stream import setup as stream_setup
from opsplane.server.web import mount_web

log = structlog.get_logger(__name__)

DOMAINS: tuple[ModuleType, ...] = (
    stream_setup,
    auth_setup,
    fleet_setup,
    metrics_setup,
    alerts_setup,
    dumps_setup,
)


def build_context(settings: Settings) -> ServerContext:
    return ServerContext(
        settings=settings,
        db=Database(settings),
        bus=LocalBus(),
        signing_key=settings.signing_key(),
        login_limiter=LoginRateLimiter(settings.login_attempts_per_minute),
        instruments=ServerMetrics(),
    )


async def start(ctx: ServerContext) -> list[asyncio.Task[None]]:
    await ctx.db.migrate()
    await ctx.bus.start()
    tasks: list[asyncio.Task[None]] = []
    for domain in DOMAINS:
        tasks.extend(await domain.start(ctx))
    return tasks


async def stop(ctx: ServerContext, tasks: list[asyncio.Task[None]]) -> None:
    for domain in reversed(DOMAINS):
        try:
            await domain.stop(ctx)
        except Exception:  # keep stopping the others
            log.exception("domain stop failed", domain=domain.__name__)
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await ctx.bus.close()
    await ctx.db.dispose()


def _docs_routes(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    @public
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="opsplane API")

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[AsViewer])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())


def create_app(settings: Settings | None = None) -> FastAPI:
    """The server as an ASGI app: every domain's routes, middleware and background loops."""
    settings = settings or Settings()
    ctx = build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = await start(ctx)
        log.info(
            "server started", version=__version__, database=ctx.db.engine.url.get_backend_name()
        )
        try:
            yield
        finally:
            await stop(ctx, tasks)
            log.info("server stopped")

    app = FastAPI(
        title="opsplane",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(authenticate)],
    )
    app.state.ctx = ctx
    install_error_handlers(app)
    app.include_router(health.router)
    api = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
    for domain in DOMAINS:
        domain.install(ctx, app, api)
    app.include_router(api)
    _docs_routes(app)
    mount_web(app)
    app.add_middleware(RequestMetricsMiddleware, metrics=ctx.instruments)
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.cookie_secure)
    return app
