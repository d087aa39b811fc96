"""`POST /prometheus/api/v1/write`: the Prometheus remote write 1.0 receiver.

Answers like Prometheus does, so senders retry the right things: 204 stored; 400 for a body
that is not a valid request (never retried: the message says why); 5xx when storage failed
(retried by the sender). The whole request is checked before anything is stored, so a 400
leaves nothing half-written. Remote-write clients authenticate with an operator API token.
"""

from __future__ import annotations

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from opsplane.server.deps import AsOperator, ContextDep
from opsplane.server.metrics.remote_write import RemoteWriteError
from opsplane.server.metrics.tsdb.remote_ingest import InvalidWrite

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/prometheus/api/v1", tags=["metrics"])

MAX_BODY_BYTES = 32 << 20


@router.post("/write", status_code=204, response_class=Response, dependencies=[AsOperator])
async def remote_write(request: Request, ctx: ContextDep) -> Response:
    """Prometheus remote write 1.0 receiver (snappy-compressed protobuf WriteRequest)."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return PlainTextResponse(f"body over {MAX_BODY_BYTES} bytes", status_code=413)
    body = await request.body()
    try:
        await ctx.tsdb.remote_writes.ingest(body)
    except RemoteWriteError as exc:
        return PlainTextResponse(f"undecodable remote write body: {exc}", status_code=400)
    except InvalidWrite as exc:
        return PlainTextResponse(str(exc), status_code=400)
    except OSError as exc:
        log.error("remote write: storage failed", error=str(exc))
        return PlainTextResponse(f"storage failed: {exc}", status_code=503)
    return Response(status_code=204)
