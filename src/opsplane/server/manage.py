"""Offline administration on the server's database (the `opsplane user` / `token` commands)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from opsplane.server.audit.service import Actor
from opsplane.server.auth import service as auth_service
from opsplane.server.auth.models import User
from opsplane.server.auth.roles import Role
from opsplane.server.db import Database
from opsplane.server.fleet import enrollment
from opsplane.server.settings import Settings

CLI_ACTOR = Actor("cli")


async def _database(settings: Settings) -> Database:
    db = Database(settings)
    await db.migrate()
    return db


async def create_user(settings: Settings, *, username: str, password: str, role: Role) -> None:
    db = await _database(settings)
    try:
        async with db.session() as session:
            await auth_service.create_user(
                session, username=username, password=password, role=role, by=CLI_ACTOR
            )
    finally:
        await db.dispose()


async def set_password(settings: Settings, *, username: str, password: str) -> None:
    db = await _database(settings)
    try:
        async with db.session() as session:
            user = await session.scalar(select(User).where(User.username == username))
            if user is None:
                raise LookupError(f"no user named {username!r}")
            await auth_service.update_user(
                session, user_id=user.id, password=password, disabled=False, by=CLI_ACTOR
            )
    finally:
        await db.dispose()


async def list_users(settings: Settings) -> list[tuple[str, str, bool]]:
    db = await _database(settings)
    try:
        async with db.session() as session:
            users = (await session.scalars(select(User).order_by(User.username))).all()
            return [(u.username, u.role, u.disabled) for u in users]
    finally:
        await db.dispose()


async def create_enrollment_token(
    settings: Settings, *, name: str, max_uses: int | None, expires_in: timedelta | None
) -> str:
    db = await _database(settings)
    try:
        async with db.session() as session:
            _, secret = await enrollment.create_token(
                session,
                name=name,
                max_uses=max_uses,
                labels={},
                expires_in_hours=expires_in.total_seconds() / 3600 if expires_in else None,
                by=CLI_ACTOR,
            )
            return secret
    finally:
        await db.dispose()
