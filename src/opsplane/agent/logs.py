"""Structured logs for the agent process: JSON lines on stderr."""

from __future__ import annotations

from opsplane.logs import configure_logging as _configure


def configure_logging(*, level: str = "info", json: bool = True) -> None:
    # httpx and websockets log every request / frame at INFO: far too chatty for an agent.
    _configure(level=level, json=json, quiet=("httpx", "httpcore", "websockets"))
