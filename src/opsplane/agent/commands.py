"""Commands from the server: a table of handlers, each run as its own task.

A handler takes the `Command` and returns the result data (any msgspec-encodable value) or
raises `CommandError` with a message for the operator. Later issues register more
handlers (deploy, start/stop, reupload, terminal) with `CommandRunner.register`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import structlog

from opsplane.agent.config import ConfigError, LiveConfig
from opsplane.protocol.commands import Command, PingArgs, PingReply, Result
from opsplane.protocol.session import AgentConfig

log = structlog.get_logger(__name__)

Handler = Callable[[Command], Awaitable[Any]]
Reply = Callable[[str | None, Result], Awaitable[None]]
T = TypeVar("T")


class CommandError(Exception):
    """A command that cannot be carried out; the message is sent back as the result error."""


class CommandRunner:
    """Runs commands off the link's read loop and answers each with a result frame.

    Args:
        handlers: Initial command table, name -> handler.
        clock: Unix time source, to check deadlines (injectable for tests).
    """

    def __init__(
        self,
        handlers: dict[str, Handler] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    def submit(self, frame_id: str | None, command: Command, reply: Reply) -> None:
        """Start `command` in the background; `reply` gets its result with the same frame id."""
        task = asyncio.create_task(self._run_and_reply(frame_id, command, reply))
        # Keep a reference: the loop holds tasks only weakly.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self, command: Command) -> Result:
        """Run one command and turn whatever happens into a Result."""
        if command.deadline and self._clock() > command.deadline:
            return Result(ok=False, error="deadline exceeded")
        handler = self._handlers.get(command.name)
        if handler is None:
            return Result(ok=False, error=f"unknown command {command.name!r}")
        try:
            return Result(ok=True, data=await handler(command))
        except CommandError as exc:
            return Result(ok=False, error=str(exc))
        except Exception as exc:
            log.exception("command failed", command=command.name)
            return Result(ok=False, error=f"{command.name} failed: {type(exc).__name__}: {exc}")

    async def aclose(self) -> None:
        """Cancel commands still running (agent shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run_and_reply(self, frame_id: str | None, command: Command, reply: Reply) -> None:
        result = await self.run(command)
        # Debug: benchmarks ping thousands of agents; the server records results anyway.
        log.debug("command done", command=command.name, id=frame_id, ok=result.ok)
        await reply(frame_id, result)


def ping_handler(clock: Callable[[], float] = time.time) -> Handler:
    """`ping`: echo the server's send time with the agent's clock (RTT and clock skew)."""

    async def ping(command: Command) -> Any:
        args = _args(command, PingArgs)
        return msgspec.to_builtins(PingReply(sent_at=args.sent_at, agent_time=clock()))

    return ping


def config_handler(live: LiveConfig) -> Handler:
    """`config`: apply a new AgentConfig at once (intervals, labels) and persist it."""

    async def config(command: Command) -> Any:
        new = _args(command, AgentConfig)
        try:
            await live.apply(new)
        except ConfigError as exc:
            raise CommandError(f"invalid config: {exc}") from None
        return msgspec.to_builtins(live.current)

    return config


def builtin_handlers(live: LiveConfig) -> dict[str, Handler]:
    return {"ping": ping_handler(), "config": config_handler(live)}


def _args(command: Command, cls: type[T]) -> T:
    try:
        return msgspec.convert(command.args, cls)
    except msgspec.ValidationError as exc:
        raise CommandError(f"invalid {command.name} arguments: {exc}") from None
