"""Fleet tables: nodes, their events, and enrollment tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from opsplane.server.db import Base, utcnow


class NodeStatus(enum.StrEnum):
    online = "online"
    degraded = "degraded"
    offline = "offline"
    revoked = "revoked"


class Node(Base):
    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=NodeStatus.offline.value, index=True)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    inventory: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Per-node overrides of the server's agent config (intervals, scrape targets...).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    agent_version: Mapped[str] = mapped_column(String(32), default="")
    protocol_version: Mapped[int] = mapped_column(default=0)
    credential_hash: Mapped[str] = mapped_column(String(64))
    problems: Mapped[list[Any]] = mapped_column(default=list)
    acked: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    connected_at: Mapped[datetime | None] = mapped_column(default=None)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    enrollment_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollment_tokens.id", ondelete="SET NULL"), default=None
    )


class NodeEvent(Base):
    __tablename__ = "node_events"
    __table_args__ = (Index("ix_node_events_node_at", "node_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    node_id: Mapped[str] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    message: Mapped[str] = mapped_column(String(1024))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class EnrollmentToken(Base):
    """Lets agents register; only the sha256 of the secret is stored."""

    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    max_uses: Mapped[int | None] = mapped_column(default=None)
    uses: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
