"""One established link: the read loop, the heartbeat loop and the spool sender.

A `Connection` lives from `welcome` until the socket drops; `Link` makes a new one after
every reconnect. Everything unacked at the drop is resent by the next connection, because
the spool only forgets what the server has acked.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Coroutine, Mapping
from typing import TYPE_CHECKING, Any

import structlog
from websockets.asyncio.client import ClientConnection

from opsplane.agent.streams import FrameBuilder
from opsplane.protocol.codec import ProtocolError, decode, encode
from opsplane.protocol.commands import Command
from opsplane.protocol.session import Heartbeat, Refuse, Welcome
from opsplane.protocol.telemetry import Ack

if TYPE_CHECKING:
    from opsplane.agent.link import Link

log = structlog.get_logger(__name__)

# How often the sender looks for batches the server never acked, even when idle.
_ACK_CHECK_PERIOD = 5.0
# The link is dead when no ack of any kind came for this many heartbeat intervals...
_MISSED_HEARTBEATS = 4
# ...but never sooner than this many seconds (short test intervals, slow servers).
_MIN_SILENCE = 15.0


class LinkDown(Exception):
    """The link must be dropped and redialled (stale, refused for now, server misbehaved)."""


class PermanentRefusal(Exception):
    """The server will never serve this agent (revoked, bad credential, wrong protocol)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def refusal_error(refuse: Refuse) -> Exception:
    if refuse.permanent:
        return PermanentRefusal(refuse.code, refuse.message)
    return LinkDown(f"server refused the link for now ({refuse.code}: {refuse.message})")


class Connection:
    """Serves one welcomed WebSocket until it fails; `serve` always ends with an exception."""

    def __init__(
        self,
        link: Link,
        ws: ClientConnection,
        welcome: Welcome,
        frame_builders: Mapping[str, FrameBuilder],
    ) -> None:
        self.link = link
        self.ws = ws
        self.welcome = welcome
        self.frame_builders = frame_builders
        self.wake = asyncio.Event()
        self.last_ack = time.monotonic()
        self.cursor = {stream: link.spool.acked_seq(stream) for stream in frame_builders}
        # Per stream: (last seq of the batch, when it was sent), oldest first.
        self.in_flight: dict[str, collections.deque[tuple[int, float]]] = {
            stream: collections.deque() for stream in frame_builders
        }
        self.heartbeats_sent: dict[int, float] = {}

    async def serve(self) -> None:
        await _first_to_fail(self._read_loop(), self._heartbeat_loop(), self._send_loop())

    async def send(self, frame: bytes) -> None:
        # Binary frames of UTF-8 JSON: the server reads them with receive_bytes().
        await self.ws.send(frame)

    # Reading ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while True:
            message = await self.ws.recv(decode=False)
            try:
                frame, body = decode(message)
            except ProtocolError as exc:
                # A newer server may send frame types this agent does not know: skip them.
                log.warning("frame ignored", error=str(exc))
                continue
            if isinstance(body, Ack):
                await self._on_ack(body)
            elif isinstance(body, Command):
                self.link.commands.submit(frame.id, body, self.link.send_result)
            elif isinstance(body, Refuse):
                raise refusal_error(body)
            else:
                log.warning("unexpected frame", type=frame.type)

    async def _on_ack(self, ack: Ack) -> None:
        self.last_ack = time.monotonic()
        if ack.stream == "heartbeat":
            sent = self.heartbeats_sent.pop(ack.seq, None)
            if sent is not None:
                self.link.stats.heartbeat_rtt = self.last_ack - sent
            return
        in_flight = self.in_flight.get(ack.stream)
        if in_flight is None:
            log.warning("ack for unknown stream", stream=ack.stream)
            return
        await self.link.spool.ack(ack.stream, ack.seq)
        while in_flight and in_flight[0][0] <= ack.seq:
            in_flight.popleft()
        # The server may ack past what this connection sent (it stored a batch from the
        # previous connection late): never resend that.
        self.cursor[ack.stream] = max(self.cursor[ack.stream], ack.seq)
        self.wake.set()

    # Heartbeats ------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        config = self.link.config
        while True:
            self._check_server_alive(config.current.heartbeat_interval)
            seq = self.link.next_heartbeat_seq()
            self._remember_heartbeat(seq)
            heartbeat = Heartbeat(
                seq=seq,
                sent_at=time.time(),
                uptime=self.link.uptime(),
                spool_pending=sum(self.link.spool.pending(s) for s in self.frame_builders),
                problems=tuple(self.link.problems()),
            )
            await self.send(encode("heartbeat", heartbeat))
            # A new config wakes this early, so a shorter interval applies at once.
            await config.sleep(config.current.heartbeat_interval)

    def _check_server_alive(self, interval: float) -> None:
        silence = time.monotonic() - self.last_ack
        if silence > max(_MISSED_HEARTBEATS * interval, _MIN_SILENCE):
            raise LinkDown(f"no ack from the server for {silence:.0f} s")

    def _remember_heartbeat(self, seq: int) -> None:
        self.heartbeats_sent[seq] = time.monotonic()
        # Only the last few matter for the RTT; unanswered ones must not pile up.
        while len(self.heartbeats_sent) > 16:
            del self.heartbeats_sent[next(iter(self.heartbeats_sent))]

    # Sending the spool -----------------------------------------------------------------

    async def _send_loop(self) -> None:
        while True:
            self.wake.clear()
            for stream in self.frame_builders:
                await self._fill_window(stream)
            self._check_acks_arrive()
            period = min(_ACK_CHECK_PERIOD, self.link.settings.ack_timeout / 2)
            try:
                async with asyncio.timeout(period):
                    await self.wake.wait()
            except TimeoutError:
                pass

    async def _fill_window(self, stream: str) -> None:
        """Send batches of `stream` until the in-flight window is full or the spool is empty."""
        settings = self.link.settings
        in_flight = self.in_flight[stream]
        while len(in_flight) < settings.max_batches_in_flight:
            records = await self.link.spool.read(
                stream,
                self.cursor[stream],
                max_items=settings.max_points_per_frame,
                max_records=settings.max_records_per_frame,
            )
            if not records:
                return
            await self.send(self.frame_builders[stream](records))
            self.cursor[stream] = records[-1].seq
            in_flight.append((records[-1].seq, time.monotonic()))

    def _check_acks_arrive(self) -> None:
        deadline = time.monotonic() - self.link.settings.ack_timeout
        for stream, in_flight in self.in_flight.items():
            if in_flight and in_flight[0][1] < deadline:
                raise LinkDown(f"server did not ack {stream} batch {in_flight[0][0]} in time")


async def _first_to_fail(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run the loops together; when one ends, cancel the rest and raise what ended it."""
    tasks = [asyncio.create_task(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    errors = [task.exception() for task in done if not task.cancelled()]
    # A refusal explains the others (the socket closed because of it): report it first.
    errors.sort(key=lambda error: not isinstance(error, PermanentRefusal))
    if errors and errors[0] is not None:
        raise errors[0]
    raise LinkDown("link loop ended")
