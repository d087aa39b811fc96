"""One-time enrollment: trade an enrollment token for this node's own credential."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import msgspec
import structlog

from opsplane import __version__
from opsplane.agent.backoff import Backoff
from opsplane.agent.settings import AgentSettings
from opsplane.agent.state import Credential
from opsplane.protocol.inventory import Inventory

log = structlog.get_logger(__name__)


class EnrollmentRefused(Exception):
    """The server said no for good (bad token, name taken, invalid request): do not retry."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"enrollment refused ({status} {code}): {message}")
        self.status = status
        self.code = code


class ServerUnavailable(Exception):
    """The server is there but cannot answer now (5xx, 429, odd reply): try again later."""


async def enroll(
    settings: AgentSettings,
    inventory: Inventory,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    backoff: Backoff | None = None,
) -> Credential:
    """Register this host, retrying while the server is unreachable (it may be starting).

    Raises:
        EnrollmentRefused: The server answered with a permanent error.
    """
    if not settings.enroll_token:
        raise EnrollmentRefused(0, "no_token", "no credential in the state dir and no --enroll")
    backoff = backoff or Backoff(base=settings.backoff_base, cap=settings.backoff_cap)
    name = settings.name or socket.gethostname()
    async with httpx.AsyncClient(
        transport=transport,
        timeout=settings.http_timeout,
        headers={"User-Agent": f"opsplane-agent/{__version__}"},
    ) as client:
        while True:
            try:
                return await register(client, settings, name, inventory)
            except (httpx.TransportError, ServerUnavailable) as exc:
                delay = backoff.next_delay()
                log.warning("enrollment failed, retrying", error=str(exc), retry_in=round(delay, 2))
                await asyncio.sleep(delay)


async def register(
    client: httpx.AsyncClient, settings: AgentSettings, name: str, inventory: Inventory
) -> Credential:
    """One registration attempt: POST /api/v1/agents/register."""
    inventory_json = msgspec.to_builtins(inventory)
    body = {"token": settings.enroll_token, "name": name, "inventory": inventory_json}
    response = await client.post(settings.register_url(), json=body)
    if response.status_code == 201:
        try:
            return msgspec.convert(response.json(), Credential)
        except (ValueError, msgspec.ValidationError) as exc:
            raise ServerUnavailable(f"unexpected enrollment response: {exc}") from None
    if response.status_code == 429 or response.status_code >= 500:
        raise ServerUnavailable(f"server answered {response.status_code}")
    code, message = _error(response)
    raise EnrollmentRefused(response.status_code, code, _explain(code, message, name))


def _error(response: httpx.Response) -> tuple[str, str]:
    try:
        error: Any = response.json()["error"]
        return str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}", response.text[:200]


def _explain(code: str, message: str, name: str) -> str:
    if code == "node_name_taken":
        return f"{message} (node name {name!r} is in use; pick another with --name)"
    if code == "enrollment_token_invalid":
        return f"{message} (create a new enrollment token on the server)"
    return message
