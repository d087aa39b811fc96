"""Users, logins and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import SYSTEM, Actor
from opsplane.server.auth import secrets, tokens
from opsplane.server.auth.models import ApiToken, User
from opsplane.server.auth.principal import Principal
from opsplane.server.auth.roles import Role
from opsplane.server.db import utcnow
from opsplane.server.errors import Conflict, Invalid, NotFound, Unauthorized
from opsplane.server.pagination import decode_cursor, encode_cursor

API_TOKEN_PREFIX = "opt"
MIN_PASSWORD_LENGTH = 8


def user_snapshot(user: User) -> dict[str, object]:
    return {"username": user.username, "role": user.role, "disabled": user.disabled}


async def principal_from_credentials(
    session: AsyncSession, *, credential: str, key: str
) -> Principal | None:
    """The principal behind a session JWT or an API token, or None if it is not valid now."""
    if credential.startswith(API_TOKEN_PREFIX + "_"):
        return await _principal_from_api_token(session, credential)
    claims = tokens.session_claims(credential, key=key)
    if claims is None:
        return None
    user_id, epoch = claims
    user = await session.get(User, user_id)
    if user is None or user.disabled or epoch != user.session_epoch:
        return None  # gone, disabled, or the password changed since the login
    return Principal(user.id, user.username, Role(user.role), via="session")


async def _principal_from_api_token(session: AsyncSession, credential: str) -> Principal | None:
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == secrets.digest(credential))
        )
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.revoked_at or (token.expires_at and token.expires_at <= now) or user.disabled:
        return None
    # Coarse last-use stamp: one write per token per minute at most.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return Principal(user.id, user.username, Role(user.role), via="api_token", token_id=token.id)


async def ensure_admin(session: AsyncSession, *, password: str | None) -> str | None:
    """Create the `admin` user when there are no users; returns a generated password, if any."""
    if await session.scalar(select(func.count()).select_from(User)):
        return None
    generated = None if password else secrets.random_password()
    user = User(
        username="admin",
        password_hash=await secrets.hash_password_async(password or generated or ""),
        role=Role.admin.value,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        by=SYSTEM,
        action="user.create",
        target_type="user",
        target_id=user.id,
        summary="initial admin user",
        after=user_snapshot(user),
    )
    return generated


async def login(
    session: AsyncSession, *, username: str, password: str, key: str, ttl: timedelta
) -> tuple[User, str, datetime]:
    """Check a password; returns the user and a fresh session token with its expiry."""
    user = await session.scalar(select(User).where(User.username == username))
    valid = await secrets.verify_password_async(user.password_hash if user else None, password)
    if user is None or not valid or user.disabled:
        raise Unauthorized("wrong username or password", code="bad_credentials")
    user.last_login_at = utcnow()
    token, expires = tokens.issue_session_token(
        user_id=user.id, key=key, ttl=ttl, epoch=user.session_epoch
    )
    return user, token, expires


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", code="weak_password"
        )


async def get_user(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


async def list_users(
    session: AsyncSession, *, limit: int, cursor: str | None, search: str | None = None
) -> tuple[list[User], str | None]:
    query = select(User).order_by(User.username, User.id).limit(limit + 1)
    after = decode_cursor(cursor, 2)
    if after is not None:
        query = query.where(
            (User.username > after[0]) | ((User.username == after[0]) & (User.id > after[1]))
        )
    if search:
        query = query.where(User.username.contains(search, autoescape=True))
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].username, rows[-1].id) if more else None


async def create_user(
    session: AsyncSession, *, username: str, password: str, role: Role, by: Actor
) -> User:
    _check_password(password)
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists", code="username_taken")
    user = User(
        username=username,
        password_hash=await secrets.hash_password_async(password),
        role=role.value,
    )
    session.add(user)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="user.create",
        target_type="user",
        target_id=user.id,
        summary=f"created {username} ({role})",
        after=user_snapshot(user),
    )
    return user


async def _admins_left_without(session: AsyncSession, user: User) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.admin.value, User.disabled.is_(False), User.id != user.id)
        )
        or 0
    )


async def update_user(
    session: AsyncSession,
    *,
    user_id: int,
    by: Actor,
    role: Role | None = None,
    password: str | None = None,
    disabled: bool | None = None,
) -> User:
    user = await get_user(session, user_id)
    before = user_snapshot(user)
    demoting = (role is not None and role != Role.admin) or disabled
    if user.role == Role.admin.value and demoting and not await _admins_left_without(session, user):
        raise Conflict("cannot demote or disable the last admin", code="last_admin")
    if role is not None:
        user.role = role.value
    if disabled is not None:
        user.disabled = disabled
    if password is not None:
        _check_password(password)
        user.password_hash = await secrets.hash_password_async(password)
        user.session_epoch += 1  # every session opened with the old password ends
    await session.flush()
    changes = [k for k in ("role", "disabled") if before[k] != user_snapshot(user)[k]]
    if password is not None:
        changes.append("password")
    await audit.record(
        session,
        by=by,
        action="user.update",
        target_type="user",
        target_id=user.id,
        summary=f"{user.username}: {', '.join(changes) or 'no change'}",
        before=before,
        after=user_snapshot(user),
    )
    return user


async def delete_user(session: AsyncSession, *, user_id: int, by: Actor) -> None:
    user = await get_user(session, user_id)
    if user.role == Role.admin.value and not await _admins_left_without(session, user):
        raise Conflict("cannot delete the last admin", code="last_admin")
    before = user_snapshot(user)
    await session.delete(user)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="user.delete",
        target_type="user",
        target_id=user_id,
        summary=f"deleted {before['username']}",
        before=before,
    )


async def create_api_token(
    session: AsyncSession, *, user_id: int, name: str, expires_in_days: int | None, by: Actor
) -> tuple[ApiToken, str]:
    """A new token for `user_id`; the secret is returned once and only its digest is kept."""
    user = await get_user(session, user_id)
    secret = secrets.new_secret(API_TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[:10],
        token_hash=secrets.digest(secret),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="api_token.create",
        target_type="api_token",
        target_id=token.id,
        summary=f"token {name!r} for {user.username}",
    )
    return token, secret


async def list_api_tokens(session: AsyncSession, *, user_id: int | None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list((await session.scalars(query)).all())


async def revoke_api_token(session: AsyncSession, *, token_id: int, by: Actor) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"API token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await audit.record(
            session,
            by=by,
            action="api_token.revoke",
            target_type="api_token",
            target_id=token.id,
            summary=f"revoked token {token.name!r}",
        )
    return token
