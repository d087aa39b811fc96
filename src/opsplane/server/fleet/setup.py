"""Wiring of the fleet domain: links, presence, commands, its routes and stream topics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI

from opsplane.protocol.session import CLOSE_SERVICE_RESTART
from opsplane.server.context import ServerContext
from opsplane.server.fleet.commands import CommandDispatcher
from opsplane.server.fleet.link import router as link_router
from opsplane.server.fleet.links import LinkRegistry
from opsplane.server.fleet.presence import Presence, Transition
from opsplane.server.fleet.router import router as fleet_router
from opsplane.server.fleet.snapshots import fleet_snapshot_builder, node_snapshot_builder

CLOSE_SERVER_RESTART = CLOSE_SERVICE_RESTART


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    settings = ctx.settings
    ctx.links = LinkRegistry()
    ctx.commands = CommandDispatcher(ctx.links, default_timeout=settings.command_timeout)

    async def on_status_change(changes: list[Transition]) -> None:
        ctx.stream.touch("fleet")
        for change in changes:
            ctx.stream.touch(f"node:{change.node.id}")

    ctx.presence = Presence(
        ctx.db,
        ctx.bus,
        missed_for_offline=settings.offline_after_missed_heartbeats,
        default_interval=settings.heartbeat_interval,
        on_change=on_status_change,
    )
    ctx.stream.register("fleet", fleet_snapshot_builder(ctx))
    ctx.stream.register("node", node_snapshot_builder(ctx))
    api.include_router(fleet_router)
    api.include_router(link_router)


async def start(ctx: ServerContext) -> list[asyncio.Task[None]]:
    await ctx.presence.load()
    return [asyncio.create_task(ctx.presence.run(), name="presence")]


async def stop(ctx: ServerContext) -> None:
    """Close links first (agents reconnect elsewhere or later), then save presence."""
    await ctx.links.close_all(CLOSE_SERVER_RESTART, "server shutting down")
    await ctx.presence.flush()
