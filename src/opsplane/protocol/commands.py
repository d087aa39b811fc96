"""Request/response commands from server to agent, each answered by a result with the same id."""

from __future__ import annotations

from typing import Any

import msgspec


class Command(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    name: str
    args: dict[str, Any] = msgspec.field(default_factory=dict)
    # Unix time after which the agent must not start the command (the server has given up).
    deadline: float = 0.0


class Result(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    ok: bool
    data: Any = None
    error: str | None = None


class PingArgs(msgspec.Struct, frozen=True):
    sent_at: float


class PingReply(msgspec.Struct, frozen=True):
    sent_at: float
    agent_time: float
