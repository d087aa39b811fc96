"""The Prometheus HTTP API (`/prometheus/api/v1/...`), so Grafana and promtool can use us.

Same parameters (GET query string or POST form), same envelope
(`{"status": "success", "data": ...}` / `{"status": "error", "errorType", "error"}`) and the
same status codes as Prometheus 2.42. Queries are reads: POSTs here need only the viewer
role (Grafana and promtool POST their queries).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Callable, Coroutine, MutableMapping
from typing import Any

import promql_parser
from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from opsplane.server.deps import AsViewer, ContextDep
from opsplane.server.metrics.model import QueryBackend, QueryError
from opsplane.server.metrics.promql.ast import parse
from opsplane.server.metrics.promql.format import parse_duration_ms, parse_time_ms
from opsplane.server.metrics.promql.labels import is_valid_name


def basic_to_bearer(scope: MutableMapping[str, Any]) -> None:
    """Let HTTP Basic credentials carry a token in their password.

    promtool 2.42's `query instant` has no header or bearer flag; it authenticates only
    through the URL (`http://user:TOKEN@host/prometheus`), which Go sends as Basic auth.
    The password becomes the bearer credential, checked as usual; the user name is ignored.
    """
    headers = list(scope.get("headers", []))
    for i, (name, value) in enumerate(headers):
        if name.lower() != b"authorization":
            continue
        scheme, _, encoded = value.partition(b" ")
        if scheme.lower() != b"basic":
            return
        try:
            _, _, password = base64.b64decode(encoded.strip(), validate=True).partition(b":")
        except binascii.Error:
            return
        if password:
            headers[i] = (name, b"Bearer " + password)
            scope["headers"] = headers
        return


class PrometheusRoute(APIRoute):
    """A route that reads Basic credentials (see `basic_to_bearer`) before authentication."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            basic_to_bearer(request.scope)
            return await handler(request)

        return route


router = APIRouter(tags=["prometheus"], route_class=PrometheusRoute)

DEFAULT_TIMEOUT_S = 120.0
"""Prometheus's `--query.timeout` default (2m)."""
MAX_POINTS = 11_000
BUILD_INFO = {
    # Grafana picks its Prometheus features from this version.
    "version": "2.42.0",
    "revision": "opsplane",
    "branch": "",
    "buildUser": "opsplane",
    "buildDate": "",
    "goVersion": "",
}
_STATUS = {"bad_data": 400, "execution": 422, "canceled": 499, "timeout": 503,
           "internal": 500, "not_found": 404}  # fmt: skip


class Params:
    """A request's parameters: the URL's, plus a POSTed form's (which come first, as in Go)."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self.values = values

    @classmethod
    async def of(cls, request: Request) -> Params:
        values: dict[str, list[str]] = {}
        if request.method == "POST" and request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            form = await request.form()
            for key, value in form.multi_items():
                values.setdefault(key, []).append(str(value))
        for key, value in request.query_params.multi_items():
            values.setdefault(key, []).append(value)
        return cls(values)

    def get(self, name: str) -> str:
        found = self.values.get(name)
        return found[0] if found else ""

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def time_s(self, name: str, default: float | None) -> float | None:
        text = self.get(name)
        return default if text == "" else parse_time_ms(text, name) / 1000

    def required_time_s(self, name: str) -> float:
        return parse_time_ms(self.get(name), name) / 1000

    def timeout_s(self) -> float:
        text = self.get("timeout")
        return DEFAULT_TIMEOUT_S if text == "" else parse_duration_ms(text, "timeout") / 1000


def _json(body: dict[str, Any], status: int = 200) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Response(content, status_code=status, media_type="application/json")


def success(data: Any) -> Response:
    return _json({"status": "success", "data": data})


async def query_success(data: Any) -> Response:
    """Like `success`, serialized in a worker thread: query results can be large."""
    return await asyncio.to_thread(success, data)


def failure(error: QueryError) -> Response:
    body = {"status": "error", "errorType": error.error_type, "error": str(error)}
    return _json(body, _STATUS.get(error.error_type, 422))


def _backend(ctx: ContextDep) -> QueryBackend:
    return ctx.query_backend


def _query_error(exc: QueryError) -> QueryError:
    """Parse errors name the parameter, as Prometheus's do."""
    if exc.error_type == "bad_data" and str(exc).startswith("parse error"):
        return QueryError(f'invalid parameter "query": {exc}')
    return exc


async def query(request: Request, ctx: ContextDep) -> Response:
    """Evaluate an instant query (PromQL) at one time."""
    try:
        params = await Params.of(request)
        at = params.time_s("time", time.time())
        assert at is not None
        timeout = params.timeout_s()
        data = await _backend(ctx).instant_query(params.get("query"), at, timeout_s=timeout)
    except QueryError as exc:
        return failure(_query_error(exc))
    return await query_success(data)


def _range_args(params: Params) -> tuple[float, float, float]:
    start, end = params.required_time_s("start"), params.required_time_s("end")
    if end < start:
        raise QueryError("end timestamp must not be before start time")
    step_ms = parse_duration_ms(params.get("step"), "step")
    if step_ms <= 0:
        raise QueryError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if (end - start) * 1000 // step_ms > MAX_POINTS:
        raise QueryError(
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    return start, end, step_ms / 1000


async def query_range(request: Request, ctx: ContextDep) -> Response:
    """Evaluate a PromQL expression over a range of time, at a fixed step."""
    try:
        params = await Params.of(request)
        start, end, step = _range_args(params)
        timeout = params.timeout_s()
        data = await _backend(ctx).range_query(
            params.get("query"), start, end, step, timeout_s=timeout
        )
    except QueryError as exc:
        return failure(_query_error(exc))
    return await query_success(data)


async def labels(request: Request, ctx: ContextDep) -> Response:
    """Label names, optionally of the series matching `match[]` selectors."""
    try:
        params = await Params.of(request)
        start, end = params.time_s("start", None), params.time_s("end", None)
        data = await _backend(ctx).label_names(params.all("match[]"), start, end)
    except QueryError as exc:
        return failure(exc)
    return success(data)


@router.get("/label/{name}/values", dependencies=[AsViewer])
async def label_values(name: str, request: Request, ctx: ContextDep) -> Response:
    """Values of one label, optionally of the series matching `match[]` selectors."""
    if not is_valid_name(name):
        return failure(QueryError(f"invalid label name: {json.dumps(name)}"))
    try:
        params = await Params.of(request)
        start, end = params.time_s("start", None), params.time_s("end", None)
        data = await _backend(ctx).label_values(name, params.all("match[]"), start, end)
    except QueryError as exc:
        return failure(exc)
    return success(data)


async def series(request: Request, ctx: ContextDep) -> Response:
    """Label sets of the series matching the `match[]` selectors."""
    try:
        params = await Params.of(request)
        if not params.all("match[]"):
            raise QueryError("no match[] parameter provided")
        start, end = params.time_s("start", None), params.time_s("end", None)
        data = await _backend(ctx).series(params.all("match[]"), start, end)
    except QueryError as exc:
        return failure(exc)
    return success(data)


@router.get("/metadata", dependencies=[AsViewer])
async def metadata(request: Request, ctx: ContextDep) -> Response:
    """Metric metadata (type, help, unit) by metric family."""
    params = await Params.of(request)
    limit_text = params.get("limit")
    try:
        limit = int(limit_text) if limit_text else None
    except ValueError:
        return failure(QueryError("limit must be a number"))
    data = await _backend(ctx).metadata(params.get("metric") or None, limit)
    return success(data)


@router.get("/status/buildinfo", dependencies=[AsViewer])
async def buildinfo() -> Response:
    """Which Prometheus this API behaves as (clients pick features from the version)."""
    return success(BUILD_INFO)


async def format_query(request: Request) -> Response:
    """A PromQL expression, pretty-printed."""
    params = await Params.of(request)
    try:
        parse(params.get("query"))
    except QueryError as exc:
        return failure(_query_error(exc))
    return success(promql_parser.parse(params.get("query")).prettify())


async def query_exemplars(request: Request) -> Response:
    """Exemplars: none are stored, so always an empty list."""
    try:
        params = await Params.of(request)
        parse(params.get("query"))
    except QueryError as exc:
        return failure(_query_error(exc))
    return success([])


def _get_and_post(path: str, endpoint: Any) -> None:
    """Register a read both as GET and as POST form, like Prometheus (one OpenAPI id each)."""
    for method in ("GET", "POST"):
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            dependencies=[AsViewer],
            operation_id=f"prometheus_{endpoint.__name__}_{method.lower()}",
        )


for _path, _endpoint in (
    ("/query", query),
    ("/query_range", query_range),
    ("/labels", labels),
    ("/series", series),
    ("/format_query", format_query),
    ("/query_exemplars", query_exemplars),
):
    _get_and_post(_path, _endpoint)
