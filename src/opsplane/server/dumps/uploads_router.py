"""Upload HTTP API: resumable chunked uploads from agents (their own credential) or from
operators' external watchers (then the node name comes in the body)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.auth.principal import Principal
from opsplane.server.auth.roles import Role
from opsplane.server.deps import ActorDep, ContextDep, CurrentPrincipal, require_role
from opsplane.server.dumps.files import FileFacts
from opsplane.server.dumps.schemas import (
    ChunkAck,
    UploadComplete,
    UploadCreate,
    UploadDone,
    UploadRead,
)
from opsplane.server.dumps.uploads import UploadView
from opsplane.server.errors import ERROR_RESPONSES, Invalid
from opsplane.server.fleet import service as fleet
from opsplane.server.fleet.models import Node

router = APIRouter(tags=["dumps"])
AsUploader = require_role(Role.operator, agents=True)
AsUploadReader = require_role(Role.viewer, agents=True)


def _read(v: UploadView) -> UploadRead:
    return UploadRead(
        upload_id=v.upload_id,
        file_id=v.file_id,
        offset=v.offset,
        size=v.size,
        chunk_size=v.chunk_size,
        state=v.state,
    )


async def _facts(session: AsyncSession, principal: Principal, body: UploadCreate) -> FileFacts:
    node_id: str | None
    if principal.node_id is not None:
        node = await fleet.get_node(session, principal.node_id)
        node_id, node_name = node.id, node.name
    elif body.node:
        known = await session.scalar(select(Node).where(Node.name == body.node))
        node_id, node_name = (known.id if known else None), body.node
    else:
        raise Invalid("give the node name (`node`) the file is on", code="node_required")
    return FileFacts(
        node_name=node_name,
        file_key=body.file_key,
        path=body.path,
        size=body.size,
        node_id=node_id,
        file_name=body.file_name,
        app=body.app,
        namespace=body.namespace,
        source="agent" if principal.is_agent else "external",
    )


@router.post(
    "/uploads",
    status_code=201,
    dependencies=[AsUploader],
    responses={200: {"model": UploadRead, "description": "Existing upload (resume here)"}},
)
async def open_upload(
    body: UploadCreate,
    response: Response,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    actor: ActorDep,
) -> UploadRead:
    """Start an upload for (node, file_key), or get the resumable one with its offset."""
    async with ctx.db.session() as session:
        facts = await _facts(session, principal, body)
    upload, created = await ctx.dumps.uploads.open(facts, size=body.size, by=actor)
    response.status_code = 201 if created else 200
    ctx.dumps.touch()
    return _read(upload)


@router.get("/uploads/{upload_id}", dependencies=[AsUploadReader])
async def get_upload(upload_id: str, ctx: ContextDep, principal: CurrentPrincipal) -> UploadRead:
    """An upload's offset (where to continue) and state."""
    return _read(await ctx.dumps.uploads.get(upload_id, node_id=principal.node_id))


@router.put(
    "/uploads/{upload_id}/chunks",
    dependencies=[AsUploader],
    responses={413: ERROR_RESPONSES[400] | {"description": "Chunk too large"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def put_chunk(
    upload_id: str,
    request: Request,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    offset: Annotated[int, Query(ge=0, description="Must equal the upload's offset.")],
) -> ChunkAck:
    """Append raw bytes at `offset`; answered once they are on disk (fsync)."""
    length = request.headers.get("content-length")
    new_offset = await ctx.dumps.uploads.write(
        upload_id,
        offset=offset,
        body=request.stream(),
        length=int(length) if length and length.isdigit() else None,
        node_id=principal.node_id,
    )
    ctx.dumps.metrics.upload_bytes.inc(new_offset - offset)
    return ChunkAck(offset=new_offset)


@router.post("/uploads/{upload_id}/complete", dependencies=[AsUploader])
async def complete_upload(
    upload_id: str,
    body: UploadComplete,
    ctx: ContextDep,
    principal: CurrentPrincipal,
    actor: ActorDep,
) -> UploadDone:
    """Verify the whole file's sha256 and store it; its analysis is then scheduled."""
    file_id = await ctx.dumps.uploads.complete(
        upload_id, sha256=body.sha256, node_id=principal.node_id, by=actor
    )
    ctx.dumps.touch()
    return UploadDone(file_id=file_id)
