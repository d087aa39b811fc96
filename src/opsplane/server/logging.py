"""Structured logs for the server process: JSON lines on stderr, uvicorn's logs included."""

from __future__ import annotations

from opsplane.logs import configure_logging as _configure


def configure_logging(*, level: str = "info", json: bool = True) -> None:
    _configure(level=level, json=json, passthrough=("uvicorn", "uvicorn.error", "uvicorn.access"))
