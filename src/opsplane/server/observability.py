"""The platform's own `/metrics`: HTTP traffic, agent links, heartbeats, fleet status."""

from __future__ import annotations

import gc
import time
from typing import Any

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


_GC_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
# Process-wide (the collector is): registered in every app's registry.
GC_PAUSES = Histogram(
    "opsplane_gc_pause_seconds",
    "Pauses of Python's cyclic garbage collector (every task waits meanwhile).",
    ["generation"],
    buckets=_GC_BUCKETS,
    registry=None,
)
_gc_started: list[float] = []


def _gc_timer(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started[:] = [time.perf_counter()]
    elif _gc_started:
        GC_PAUSES.labels(str(info["generation"])).observe(time.perf_counter() - _gc_started[0])


if _gc_timer not in gc.callbacks:
    gc.callbacks.append(_gc_timer)


class ServerMetrics:
    """One registry per app, so tests can run several servers in one process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "opsplane_http_requests",
            "HTTP requests served.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "opsplane_http_request_duration_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.agents_connected = Gauge(
            "opsplane_agents_connected", "Agent links held by this process.", registry=r
        )
        self.link_frames = Counter(
            "opsplane_link_frames", "Frames on agent links.", ["direction", "type"], registry=r
        )
        self.heartbeat_lag = Histogram(
            "opsplane_heartbeat_lag_seconds",
            "Delay between an agent sending a heartbeat and the server receiving it.",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.nodes = Gauge("opsplane_nodes", "Nodes by status.", ["status"], registry=r)
        self.command_latency = Histogram(
            "opsplane_agent_command_duration_seconds",
            "Agent command round trip.",
            ["command"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ingested_samples = Counter(
            "opsplane_ingested_samples", "Metric samples accepted from agents.", registry=r
        )
        r.register(GC_PAUSES)

    def frame_received(self, frame_type: str) -> None:
        self.link_frames.labels("in", frame_type).inc()

    def frame_sent(self, frame_type: str) -> None:
        self.link_frames.labels("out", frame_type).inc()


def route_templates(app: Any) -> dict[Any, str]:
    """Endpoint -> full path template (included routers keep only their own path on the route)."""
    templates: dict[Any, str] = {}
    for route in iter_route_contexts(app.routes):
        if route.endpoint is not None and route.path:
            templates.setdefault(route.endpoint, route.path)
    return templates


class RequestMetricsMiddleware:
    """Counts and times HTTP requests by route template (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._templates: dict[Any, str] | None = None

    def _template(self, scope: Scope) -> str:
        endpoint = getattr(scope.get("route"), "endpoint", None)
        if endpoint is None:
            return "unmatched"
        if self._templates is None:
            self._templates = route_templates(scope["app"])
        template = self._templates.get(endpoint) or getattr(scope["route"], "path", None)
        return str(template or "unmatched")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = self._template(scope)
            method = scope.get("method", "")
            self.metrics.http_requests.labels(method, template, str(status[0])).inc()
            self.metrics.http_latency.labels(method, template).observe(
                time.perf_counter() - started
            )


SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'",
    ),
]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.headers = list(SECURITY_HEADERS)
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                existing = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in existing]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_wrapper)
