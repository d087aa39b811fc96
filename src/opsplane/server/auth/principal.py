"""Who is making a request."""

from __future__ import annotations

from dataclasses import dataclass

from opsplane.server.auth.roles import Role


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    role: Role
    via: str  # "session" (JWT cookie or bearer), "api_token" or "agent"
    token_id: int | None = None
    node_id: str | None = None  # set when an agent authenticates with its own credential

    @property
    def is_agent(self) -> bool:
        return self.node_id is not None

    @property
    def actor(self) -> str:
        """How the audit log names this principal."""
        return (
            self.username if self.token_id is None else f"{self.username} (token {self.token_id})"
        )
