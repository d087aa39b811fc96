"""Request dependencies: the database session, who is calling, and what role they need.

Every route is authenticated unless its endpoint is marked `@public` (deny by default); the
role a route needs is declared with `require_role(...)`, which tests read to walk every route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from fastapi.params import Depends as DependsParam
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from opsplane.server.audit.service import Actor
from opsplane.server.auth.principal import Principal
from opsplane.server.auth.roles import Role
from opsplane.server.auth.service import principal_from_credentials
from opsplane.server.context import ServerContext
from opsplane.server.errors import Forbidden, Unauthorized
from opsplane.server.fleet.enrollment import CREDENTIAL_PREFIX, node_for_credential
from opsplane.server.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

SESSION_COOKIE = "opsplane_session"
AGENT_CREDENTIAL_PREFIX = CREDENTIAL_PREFIX + "_"


def public(endpoint: F) -> F:
    """Mark an endpoint as reachable without a user session (it authenticates itself, or not)."""
    endpoint.__opsplane_public__ = True  # type: ignore[attr-defined]
    return endpoint


def is_public(endpoint: Callable[..., Any] | None) -> bool:
    return bool(getattr(endpoint, "__opsplane_public__", False))


async def get_context(conn: HTTPConnection) -> ServerContext:
    ctx: ServerContext = conn.app.state.ctx
    return ctx


ContextDep = Annotated[ServerContext, Depends(get_context)]


async def get_settings(ctx: ContextDep) -> Settings:
    return ctx.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the endpoint returns, else rolled back."""
    async with ctx.db.sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def bearer_or_cookie(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.cookies.get(SESSION_COOKIE) or None


async def authenticate(conn: HTTPConnection) -> None:
    """App-wide dependency: resolve the caller, or refuse with 401 (public routes excepted).

    A cached principal costs no database session (this runs on every request: a session
    dependency here was a third of a small remote write's CPU); a miss opens its own.
    """
    route = conn.scope.get("route")
    if is_public(getattr(route, "endpoint", None)):
        return
    credential = bearer_or_cookie(conn)
    if not credential:
        raise Unauthorized("authentication required", code="unauthenticated")
    ctx: ServerContext = conn.app.state.ctx
    principal = ctx.principals.get(credential)
    if principal is None:
        async with ctx.db.session() as session:
            if credential.startswith(AGENT_CREDENTIAL_PREFIX):
                principal = await _agent_principal(session, credential)
            else:
                principal = await principal_from_credentials(
                    session, credential=credential, key=ctx.signing_key
                )
        if principal is None:
            raise Unauthorized("authentication required", code="unauthenticated")
        ctx.principals.put(credential, principal)
    conn.state.principal = principal


async def _agent_principal(session: AsyncSession, credential: str) -> Principal | None:
    """Agents call a few HTTP endpoints (uploads) with their own link credential."""
    node = await node_for_credential(session, credential)
    if node is None or node.revoked_at is not None:
        return None
    return Principal(0, f"agent:{node.name}", Role.viewer, via="agent", node_id=node.id)


async def get_principal(conn: HTTPConnection) -> Principal:
    principal: Principal | None = getattr(conn.state, "principal", None)
    if principal is None:
        raise Unauthorized("authentication required", code="unauthenticated")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_actor(conn: HTTPConnection, principal: CurrentPrincipal) -> Actor:
    return Actor(principal.actor, conn.client.host if conn.client else None)


ActorDep = Annotated[Actor, Depends(get_actor)]


def require_role(role: Role, *, agents: bool = False) -> DependsParam:
    """A route dependency refusing callers below `role` (403).

    Agents authenticated with their own credential pass only where `agents=True`.
    """

    # async: FastAPI runs plain `def` dependencies in its thread pool, once per request each.
    async def check(principal: CurrentPrincipal) -> None:
        if principal.is_agent:
            if not agents:
                raise Forbidden("agent credentials cannot call this endpoint", code="forbidden")
            return
        if not principal.role.allows(role):
            raise Forbidden(f"this needs the {role.value} role", code="forbidden")

    check.required_role = role  # type: ignore[attr-defined]
    check.agents_allowed = agents  # type: ignore[attr-defined]
    dependency: DependsParam = Depends(check)
    return dependency


async def get_agent(principal: CurrentPrincipal) -> Principal:
    """The calling agent (for endpoints agents call with their link credential)."""
    if not principal.is_agent:
        raise Forbidden("only an agent can call this endpoint", code="forbidden")
    return principal


AgentIdentity = Annotated[Principal, Depends(get_agent)]

AsViewer = require_role(Role.viewer)
AsOperator = require_role(Role.operator)
AsAdmin = require_role(Role.admin)
