"""The one connection to the server: dial, authenticate, hello, and redial with backoff.

`Link.run` keeps the agent connected until `close()` is called or the server refuses the
agent for good (`PermanentRefusal`: revoked, bad credential, incompatible protocol), in
which case retrying would only hammer the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from opsplane import __version__
from opsplane.agent.backoff import Backoff
from opsplane.agent.commands import CommandRunner
from opsplane.agent.config import ConfigError, LiveConfig
from opsplane.agent.connection import Connection, LinkDown, PermanentRefusal, refusal_error
from opsplane.agent.settings import AgentSettings
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.streams import FRAME_BUILDERS, FrameBuilder
from opsplane.protocol.codec import ProtocolError, decode, encode
from opsplane.protocol.commands import Result
from opsplane.protocol.session import CLOSE_SERVICE_RESTART, Hello, Welcome

__all__ = ["Link", "LinkDown", "LinkStats", "PermanentRefusal"]

log = structlog.get_logger(__name__)

# Close codes after which redialling cannot help (see the server contract).
PERMANENT_CLOSE_CODES = {4401: "credential_invalid", 4403: "agent_revoked"}
# HTTP answers to the upgrade that mean the same (a server refusing before the WebSocket).
PERMANENT_HTTP_STATUS = {401: "credential_invalid", 403: "agent_revoked"}
_TRANSIENT = (OSError, TimeoutError, ConnectionClosed, InvalidHandshake, ProtocolError, LinkDown)


@dataclasses.dataclass
class LinkStats:
    """What the link has seen, for logs, the heartbeat and tests."""

    connected: bool = False
    connects: int = 0
    node_id: str | None = None
    heartbeat_rtt: float | None = None
    last_error: str | None = None


class Link:
    """The agent's connection to the server.

    Args:
        settings: Agent settings (URLs, backoff, frame and window sizes).
        credential: This node's secret, sent as a bearer token on every dial.
        spool: Source of the metric and event batches (deleted from it when acked).
        config: Live config; `welcome` replaces it, loops pace themselves by it.
        commands: Runs server commands; results go back through `send_result`.
        hello: Builds the hello for each dial (fresh inventory: addresses change).
        problems: Extra heartbeat problems (collector errors), besides the spool's own.
    """

    def __init__(
        self,
        *,
        settings: AgentSettings,
        credential: str,
        spool: AsyncSpool,
        config: LiveConfig,
        commands: CommandRunner,
        hello: Callable[[], Awaitable[Hello]],
        problems: Callable[[], list[str]] = list,
        frame_builders: Mapping[str, FrameBuilder] = FRAME_BUILDERS,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self.spool = spool
        self.config = config
        self.commands = commands
        self.stats = LinkStats()
        self._credential = credential
        self._hello = hello
        self._extra_problems = problems
        self._frame_builders = frame_builders
        self._backoff = backoff or Backoff(base=settings.backoff_base, cap=settings.backoff_cap)
        self._started = time.monotonic()
        self._heartbeat_seq = 0
        self._connection: Connection | None = None
        self._stopping = asyncio.Event()
        self._server_restarting = False
        spool.on_append(self._on_spool_append)

    async def run(self) -> None:
        """Stay connected until `close()`; raises PermanentRefusal when the server says never."""
        while not self._stopping.is_set():
            welcomed_at = await self._dial_and_serve()
            if self._stopping.is_set():
                break
            if welcomed_at and time.monotonic() - welcomed_at >= self.settings.stable_after:
                self._backoff.reset()
            restarting = self._server_restarting
            delay = self._backoff.next_delay(
                self.settings.restart_backoff_cap if restarting else None
            )
            log.info("link redial scheduled", retry_in=round(delay, 2))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._stopping.wait()

    async def close(self) -> None:
        """Stop redialling and close the current socket (1001: going away)."""
        self._stopping.set()
        if self._connection is not None:
            await self._connection.ws.close(1001, "agent stopping")

    async def send_result(self, frame_id: str | None, result: Result) -> None:
        """Answer a command on whatever connection is up now; dropped when there is none."""
        connection = self._connection
        if connection is None:
            log.warning("command result dropped: link down", id=frame_id)
            return
        try:
            await connection.send(encode("result", result, frame_id=frame_id))
        except ConnectionClosed:
            log.warning("command result dropped: link closed", id=frame_id)

    def next_heartbeat_seq(self) -> int:
        # Increasing across reconnects, so the server can tell a replay from a new beat.
        self._heartbeat_seq += 1
        return self._heartbeat_seq

    def uptime(self) -> float:
        return time.monotonic() - self._started

    def problems(self) -> list[str]:
        problems = self.spool.problems()
        backlog = sum(self.spool.pending(stream) for stream in self._frame_builders)
        if backlog > self.settings.backlog_warning_records:
            problems.append(f"spool backlog {backlog} records")
        return problems + self._extra_problems()

    async def _dial_and_serve(self) -> float | None:
        """One connection's life; returns when it was welcomed (None: never)."""
        welcomed_at = None
        try:
            async with self._dial() as ws:
                welcome = await self._handshake(ws)
                welcomed_at = time.monotonic()
                self._server_restarting = False
                await self._serve(ws, welcome)
        except PermanentRefusal:
            raise
        except InvalidStatus as exc:
            self._raise_if_permanent_status(exc)
            self._note_down(exc)
        except ConnectionClosed as exc:
            self._raise_if_permanent_close(exc)
            if exc.rcvd is not None and exc.rcvd.code == CLOSE_SERVICE_RESTART:
                self._server_restarting = True  # until the next welcome
            self._note_down(exc)
        except _TRANSIENT as exc:
            self._note_down(exc)
        except Exception as exc:
            # A bug in one session must not end the agent's metrics: log it and redial.
            log.exception("link failed unexpectedly")
            self._note_down(exc)
        return welcomed_at

    def _dial(self) -> connect:
        return connect(
            self.settings.link_url(),
            additional_headers={"Authorization": f"Bearer {self._credential}"},
            user_agent_header=f"opsplane-agent/{__version__}",
            # Off: per-connection zlib state costs the server ~100s of KB per agent, and
            # a host's batches are a few KB every few seconds.
            compression=None,
            open_timeout=self.settings.open_timeout,
            max_size=4 * 1024 * 1024,
        )

    async def _handshake(self, ws: ClientConnection) -> Welcome:
        await ws.send(encode("hello", await self._hello()))
        async with asyncio.timeout(self.settings.open_timeout):
            frame, body = decode(await ws.recv(decode=False))
        if frame.type == "refuse":
            raise refusal_error(body)
        if frame.type != "welcome":
            raise LinkDown(f"expected welcome, got {frame.type!r}")
        assert isinstance(body, Welcome)
        return body

    async def _serve(self, ws: ClientConnection, welcome: Welcome) -> None:
        await self._apply_welcome(welcome)
        if self._stopping.is_set():
            return  # close() came while dialling: leave before serving
        connection = Connection(self, ws, welcome, self._frame_builders)
        self._connection = connection
        self.stats.connected = True
        self.stats.connects += 1
        self.stats.node_id = welcome.node_id
        log.info("link up", node_id=welcome.node_id, node_name=welcome.node_name)
        try:
            await connection.serve()
        finally:
            self._connection = None
            self.stats.connected = False

    async def _apply_welcome(self, welcome: Welcome) -> None:
        try:
            await self.config.apply(welcome.config)
        except ConfigError as exc:
            log.error("server config rejected, keeping the current one", error=str(exc))
        for stream in self._frame_builders:
            acked = welcome.acked.get(stream, 0)
            # Never reuse a seq the server has stored, then forget what it already has.
            await self.spool.fast_forward(stream, acked)
            await self.spool.ack(stream, acked)

    def _on_spool_append(self, _stream: str) -> None:
        if self._connection is not None:
            self._connection.wake.set()

    def _note_down(self, exc: BaseException) -> None:
        self.stats.last_error = _describe(exc)
        if not self._stopping.is_set():
            log.warning("link down", error=self.stats.last_error)

    @staticmethod
    def _raise_if_permanent_close(exc: ConnectionClosed) -> None:
        code = exc.rcvd.code if exc.rcvd else None
        if code in PERMANENT_CLOSE_CODES:
            reason = exc.rcvd.reason if exc.rcvd else ""
            raise PermanentRefusal(PERMANENT_CLOSE_CODES[code], reason or f"closed with {code}")

    @staticmethod
    def _raise_if_permanent_status(exc: InvalidStatus) -> None:
        status = exc.response.status_code
        if status in PERMANENT_HTTP_STATUS:
            raise PermanentRefusal(PERMANENT_HTTP_STATUS[status], f"server answered HTTP {status}")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
