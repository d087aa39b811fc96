"""Enrollment tokens and agent registration."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.auth import secrets
from opsplane.server.db import utcnow
from opsplane.server.errors import Conflict, NotFound, Unauthorized
from opsplane.server.fleet.events import record_event
from opsplane.server.fleet.models import EnrollmentToken, Node, NodeStatus

ENROLLMENT_PREFIX = "ope"
CREDENTIAL_PREFIX = "opa"


def token_state(token: EnrollmentToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= utcnow():
        return "expired"
    if token.max_uses is not None and token.uses >= token.max_uses:
        return "exhausted"
    return "active"


async def create_token(
    session: AsyncSession,
    *,
    name: str,
    expires_in_hours: float | None,
    max_uses: int | None,
    labels: dict[str, str],
    by: Actor,
) -> tuple[EnrollmentToken, str]:
    """A new enrollment token; the secret is returned once."""
    secret = secrets.new_secret(ENROLLMENT_PREFIX, 24)
    token = EnrollmentToken(
        name=name,
        prefix=secret[:10],
        token_hash=secrets.digest(secret),
        labels=labels,
        max_uses=max_uses,
        expires_at=utcnow() + timedelta(hours=expires_in_hours) if expires_in_hours else None,
        created_by=by.name,
    )
    session.add(token)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="enrollment_token.create",
        target_type="enrollment_token",
        target_id=token.id,
        summary=f"token {name!r} max_uses={max_uses}",
        after={
            "name": name,
            "max_uses": max_uses,
            "labels": labels,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )
    return token, secret


async def list_tokens(session: AsyncSession) -> list[EnrollmentToken]:
    return list(
        (await session.scalars(select(EnrollmentToken).order_by(EnrollmentToken.id.desc()))).all()
    )


async def revoke_token(session: AsyncSession, *, token_id: int, by: Actor) -> EnrollmentToken:
    token = await session.get(EnrollmentToken, token_id)
    if token is None:
        raise NotFound(f"enrollment token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await audit.record(
            session,
            by=by,
            action="enrollment_token.revoke",
            target_type="enrollment_token",
            target_id=token.id,
            summary=f"revoked token {token.name!r}",
        )
    return token


async def register_agent(
    session: AsyncSession,
    *,
    token_secret: str,
    name: str,
    inventory: dict[str, Any],
    client_ip: str | None,
) -> tuple[Node, str]:
    """Create a node for an agent presenting a valid enrollment token; returns its credential."""
    token = await session.scalar(
        select(EnrollmentToken)
        .where(EnrollmentToken.token_hash == secrets.digest(token_secret))
        .with_for_update()
    )
    if token is None or token_state(token) != "active":
        state = "unknown" if token is None else token_state(token)
        raise Unauthorized(
            f"enrollment token is not valid ({state})", code="enrollment_token_invalid"
        )
    if await session.scalar(select(Node.id).where(Node.name == name)):
        raise Conflict(
            f"a node named {name!r} exists; delete it or enroll with another --name",
            code="node_name_taken",
        )
    token.uses += 1
    node_id = uuid.uuid4().hex
    credential = f"{CREDENTIAL_PREFIX}_{node_id}.{secrets.new_secret('s', 32)[2:]}"
    node = Node(
        id=node_id,
        name=name,
        labels=dict(token.labels),
        inventory=inventory,
        credential_hash=secrets.digest(credential),
        status=NodeStatus.offline.value,
        enrollment_token_id=token.id,
    )
    session.add(node)
    await session.flush()
    await record_event(
        session,
        node_id=node.id,
        kind="enrolled",
        message=f"agent enrolled with token {token.prefix}… from {client_ip}",
    )
    await audit.record(
        session,
        by=Actor(f"agent:{name}", client_ip),
        action="node.enroll",
        target_type="node",
        target_id=node.id,
        summary=f"enrolled {name}",
        after={"name": name, "labels": node.labels},
    )
    return node, credential


def node_id_from_credential(credential: str) -> str | None:
    prefix = CREDENTIAL_PREFIX + "_"
    if not credential.startswith(prefix) or "." not in credential:
        return None
    return credential[len(prefix) :].split(".", 1)[0] or None


async def node_for_credential(session: AsyncSession, credential: str) -> Node | None:
    """The node this agent credential belongs to (revoked or not), or None if it is wrong."""
    node_id = node_id_from_credential(credential)
    if node_id is None:
        return None
    node = await session.get(Node, node_id)
    if node is None or not secrets.same_digest(credential, node.credential_hash):
        return None
    return node
