"""Auth HTTP API: login/logout, the current user, users (admin) and API tokens (admin)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.auth import service
from opsplane.server.auth.schemas import (
    ApiTokenCreate,
    ApiTokenCreated,
    ApiTokenRead,
    LoginRequest,
    LoginResponse,
    PasswordChange,
    UserCreate,
    UserRead,
    UserUpdate,
)
from opsplane.server.context import ServerContext
from opsplane.server.deps import (
    SESSION_COOKIE,
    ActorDep,
    AsAdmin,
    AsViewer,
    ContextDep,
    CurrentPrincipal,
    SessionDep,
    public,
)
from opsplane.server.errors import TooManyRequests, Unauthorized
from opsplane.server.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["auth"])


async def _committed(session: AsyncSession, ctx: ServerContext) -> None:
    """Commit a change to who may do what, then forget cached credentials (in that order)."""
    await session.commit()
    ctx.principals.clear()


@router.post("/auth/login")
@public
async def login(
    body: LoginRequest, request: Request, response: Response, ctx: ContextDep, session: SessionDep
) -> LoginResponse:
    """Log in with a password: returns a bearer token and sets the UI's httponly cookie."""
    client = request.client.host if request.client else "unknown"
    keys = (f"ip:{client}", f"user:{body.username}")
    wait = ctx.login_limiter.retry_after(*keys)
    if wait > 0:
        raise TooManyRequests(
            f"too many failed logins; retry in {int(wait) + 1} s", details={"retry_after": wait}
        )
    ttl = timedelta(minutes=ctx.settings.session_ttl_minutes)
    try:
        user, token, expires = await service.login(
            session, username=body.username, password=body.password, key=ctx.signing_key, ttl=ttl
        )
    except Unauthorized:
        ctx.login_limiter.record_failure(*keys)
        raise
    ctx.login_limiter.reset(f"user:{body.username}")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        httponly=True,
        secure=ctx.settings.cookie_secure,
        samesite="strict",
        path="/",
    )
    return LoginResponse(access_token=token, expires_at=expires, user=UserRead.model_validate(user))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
@public
async def logout(response: Response) -> None:
    """Clear the UI's session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", dependencies=[AsViewer])
async def me(principal: CurrentPrincipal, session: SessionDep) -> UserRead:
    """The calling user."""
    return UserRead.model_validate(await service.get_user(session, principal.user_id))


@router.put("/auth/me/password", status_code=204, dependencies=[AsViewer])
async def change_own_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    actor: ActorDep,
    session: SessionDep,
    ctx: ContextDep,
) -> None:
    """Change your own password (needs the current one). Every session of yours ends, this
    one too: log in again with the new password. API tokens stay valid."""
    await service.login(
        session,
        username=principal.username,
        password=body.current_password,
        key=ctx.signing_key,
        ttl=timedelta(seconds=1),
    )
    await service.update_user(
        session, user_id=principal.user_id, password=body.new_password, by=actor
    )
    await _committed(session, ctx)


@router.get("/users", dependencies=[AsAdmin])
async def list_users(
    session: SessionDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    search: str | None = None,
) -> Page[UserRead]:
    """Users, by name."""
    rows, next_cursor = await service.list_users(session, limit=limit, cursor=cursor, search=search)
    return Page(items=[UserRead.model_validate(u) for u in rows], next_cursor=next_cursor)


@router.post("/users", status_code=201, dependencies=[AsAdmin])
async def create_user(body: UserCreate, actor: ActorDep, session: SessionDep) -> UserRead:
    """Create a user with a role."""
    user = await service.create_user(
        session, username=body.username, password=body.password, role=body.role, by=actor
    )
    return UserRead.model_validate(user)


@router.get("/users/{user_id}", dependencies=[AsAdmin])
async def get_user(user_id: int, session: SessionDep) -> UserRead:
    """One user."""
    return UserRead.model_validate(await service.get_user(session, user_id))


@router.patch("/users/{user_id}", dependencies=[AsAdmin])
async def update_user(
    user_id: int, body: UserUpdate, actor: ActorDep, session: SessionDep, ctx: ContextDep
) -> UserRead:
    """Change a user's role, password or disabled flag (effective at once)."""
    user = await service.update_user(
        session,
        user_id=user_id,
        by=actor,
        role=body.role,
        password=body.password,
        disabled=body.disabled,
    )
    await _committed(session, ctx)
    return UserRead.model_validate(user)


@router.delete("/users/{user_id}", status_code=204, dependencies=[AsAdmin])
async def delete_user(user_id: int, actor: ActorDep, session: SessionDep, ctx: ContextDep) -> None:
    """Delete a user (not the last admin)."""
    await service.delete_user(session, user_id=user_id, by=actor)
    await _committed(session, ctx)


@router.get("/auth/tokens", dependencies=[AsAdmin])
async def list_tokens(session: SessionDep, user_id: int | None = None) -> list[ApiTokenRead]:
    """API tokens (secrets are never shown again)."""
    rows = await service.list_api_tokens(session, user_id=user_id)
    return [ApiTokenRead.model_validate(t) for t in rows]


@router.post("/auth/tokens", status_code=201, dependencies=[AsAdmin])
async def create_token(
    body: ApiTokenCreate, principal: CurrentPrincipal, actor: ActorDep, session: SessionDep
) -> ApiTokenCreated:
    """Create an API token for automation; it acts with its owner's role."""
    token, secret = await service.create_api_token(
        session,
        user_id=body.user_id or principal.user_id,
        name=body.name,
        expires_in_days=body.expires_in_days,
        by=actor,
    )
    return ApiTokenCreated(**ApiTokenRead.model_validate(token).model_dump(), token=secret)


@router.delete("/auth/tokens/{token_id}", dependencies=[AsAdmin])
async def revoke_token(
    token_id: int, actor: ActorDep, session: SessionDep, ctx: ContextDep
) -> ApiTokenRead:
    """Revoke an API token at once."""
    token = await service.revoke_api_token(session, token_id=token_id, by=actor)
    await _committed(session, ctx)
    return ApiTokenRead.model_validate(token)
