"""Structured logs for every opsplane process: JSON lines on stderr (structlog over stdlib).

Shared by the agent and the server, so it imports nothing but structlog and the stdlib.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

import structlog


def _drop_color_message(
    _: object, __: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    event.pop("color_message", None)  # uvicorn's duplicate of the message with ANSI codes
    return event


def configure_logging(
    *,
    level: str = "info",
    json: bool = True,
    quiet: Iterable[str] = (),
    passthrough: Iterable[str] = (),
) -> None:
    """Route structlog and stdlib logging through one renderer.

    Args:
        level: Root level.
        json: JSON lines (default) or console rendering for humans.
        quiet: Loggers kept at WARNING or above (chatty libraries).
        passthrough: Loggers whose own handlers are removed so they reach the root's.
    """
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in quiet:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    for name in passthrough:
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
