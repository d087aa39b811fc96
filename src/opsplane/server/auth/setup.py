"""Wiring of the auth and audit domains (routes only; the first admin is made at start)."""

from __future__ import annotations

import asyncio
import sys

from fastapi import APIRouter, FastAPI

from opsplane.server.audit.router import router as audit_router
from opsplane.server.auth import service
from opsplane.server.auth.router import router as auth_router
from opsplane.server.context import ServerContext


def install(ctx: ServerContext, app: FastAPI, api: APIRouter) -> None:
    api.include_router(auth_router)
    api.include_router(audit_router)


def announce_admin_password(password: str) -> None:
    """Printed once, to the console only (never to the logs)."""
    print(
        "\n  opsplane: created user 'admin' with password: "
        f"{password}\n  (shown once; change it with `opsplane user set-password admin`)\n",
        file=sys.stderr,
        flush=True,
    )


async def start(ctx: ServerContext) -> list[asyncio.Task[None]]:
    admin_password = ctx.settings.admin_password
    async with ctx.db.session() as session:
        generated = await service.ensure_admin(
            session, password=admin_password.get_secret_value() if admin_password else None
        )
    if generated:
        announce_admin_password(generated)
    return []


async def stop(ctx: ServerContext) -> None:
    return None
