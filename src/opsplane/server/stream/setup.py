"""Wiring of the UI stream (domains register their topics in their own install)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI

from opsplane.server.context import ServerContext
from opsplane.server.stream.hub import StreamHub
from opsplane.server.stream.router import router


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    ctx.stream = StreamHub()
    api.include_router(router)


async def start(ctx: ServerContext) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(ctx.stream.run(), name="ui-stream")]


async def stop(ctx: ServerContext) -> None:
    return None
