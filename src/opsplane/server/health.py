"""Process health, readiness and the platform's own Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from opsplane import __version__
from opsplane.server.deps import ContextDep, public

router = APIRouter(tags=["health"])


@router.get("/healthz")
@public
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
@public
async def readyz(ctx: ContextDep) -> JSONResponse:
    """The database and the bus are reachable."""
    checks: dict[str, str] = {}
    for name, probe in (("database", ctx.db.ping), ("bus", ctx.bus.ping)):
        try:
            await probe()
            checks[name] = "ok"
        except Exception as exc:  # report, never raise: this endpoint is for load balancers
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", response_class=Response)
@public
async def metrics(ctx: ContextDep) -> Response:
    """Prometheus exposition of the server's own metrics."""
    counts = ctx.presence.counts()
    for status, n in counts.items():
        ctx.instruments.nodes.labels(status).set(n)
    return Response(generate_latest(ctx.instruments.registry), media_type=CONTENT_TYPE_LATEST)
