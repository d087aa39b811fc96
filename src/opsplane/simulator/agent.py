"""One simulated agent: a WebSocket, a heartbeat/metrics ticker and a read loop; no threads."""

from __future__ import annotations

import asyncio
import collections
import math
import random
import time
from typing import TYPE_CHECKING

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from opsplane import __version__
from opsplane.agent.backoff import Backoff
from opsplane.protocol import PROTOCOL_VERSION
from opsplane.protocol.codec import ProtocolError, decode, encode
from opsplane.protocol.commands import Command, PingReply, Result
from opsplane.protocol.inventory import Disk, Inventory
from opsplane.protocol.session import (
    CLOSE_SERVICE_RESTART,
    AgentConfig,
    Heartbeat,
    Hello,
    Refuse,
    Welcome,
)
from opsplane.protocol.telemetry import Ack, MetricBatch, MetricPoint

if TYPE_CHECKING:
    from opsplane.simulator.fleet import Simulator

# Unacked records kept for resending after a reconnect (older ones are dropped).
_MAX_UNACKED = 250
_MAX_POINTS_PER_FRAME = 5000
_PERMANENT_CLOSE_CODES = frozenset({4401, 4403})
_PERMANENT_HTTP_STATUS = frozenset({401, 403})
_RESTART_CAP = 5.0  # as the real agent's restart_backoff_cap
# Shared, never mutated: every simulated host reports the same series names.
_SERIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("host_cpu_utilization_ratio", {"cpu": "total"}),
    ("host_cpu_utilization_ratio", {"cpu": "0"}),
    ("host_cpu_utilization_ratio", {"cpu": "1"}),
    ("host_load1", {}),
    ("host_load5", {}),
    ("host_load15", {}),
    ("host_memory_total_bytes", {}),
    ("host_memory_available_bytes", {}),
    ("host_memory_used_bytes", {}),
    ("host_memory_utilization_ratio", {}),
    (
        "host_filesystem_utilization_ratio",
        {"mountpoint": "/", "device": "/dev/sda1", "fstype": "ext4"},
    ),
    ("host_network_received_bytes_total", {"interface": "eth0"}),
    ("host_network_transmitted_bytes_total", {"interface": "eth0"}),
    ("host_processes", {}),
    ("host_uptime_seconds", {}),
)


class _Refused(Exception):
    """The server will never take this agent (revoked, bad credential, wrong protocol)."""


def fake_inventory(name: str, index: int) -> Inventory:
    return Inventory(
        hostname=name,
        os="Simulated Linux 1.0",
        kernel="6.1.0-sim",
        arch="x86_64",
        cpu_model="Simulated CPU",
        cpu_count=2,
        memory_bytes=8 << 30,
        disks=(Disk("/dev/sda1", "/", "ext4", 100 << 30),),
        ip_addresses=(f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}",),
        boot_time=time.time() - 86400,
        agent_version=f"{__version__}+sim",
    )


class SimAgent:
    """A simulated agent; `run()` keeps it connected until cancelled or refused for good."""

    __slots__ = (
        "_backoff",
        "_hb_sent",
        "_hb_seq",
        "_metrics_seq",
        "_unacked",
        "config",
        "credential",
        "fleet",
        "index",
        "name",
        "node_id",
        "welcomed",
    )

    def __init__(self, fleet: Simulator, index: int, name: str, credential: str | None) -> None:
        self.fleet = fleet
        self.index = index
        self.name = name
        self.credential = credential
        self.node_id: str | None = None
        self.config = AgentConfig()
        self.welcomed = False
        self._backoff = Backoff(base=0.5, cap=30.0)
        self._hb_seq = 0
        self._hb_sent: tuple[int, float] = (0, 0.0)
        self._metrics_seq = 0
        # (seq, points) not yet acked, oldest first; resent as one batch after a reconnect.
        self._unacked: collections.deque[tuple[int, tuple[MetricPoint, ...]]] = collections.deque(
            maxlen=_MAX_UNACKED
        )

    async def run(self) -> None:
        stats = self.fleet.stats
        restarting = False  # the server said it restarts (1012): short capped redials
        while True:
            connected_at = None
            try:
                ws = await self._connect()
                connected_at = time.monotonic()
                restarting = False
                try:
                    await self._serve(ws)
                finally:
                    await ws.close()
            except _Refused:
                stats.refused += 1
                return
            except InvalidStatus as exc:
                if exc.response.status_code in _PERMANENT_HTTP_STATUS:
                    stats.refused += 1
                    return
                stats.on_error(f"http_{exc.response.status_code}")
            except ConnectionClosed as exc:
                if exc.rcvd and exc.rcvd.code in _PERMANENT_CLOSE_CODES:
                    stats.refused += 1
                    return
                restarting = restarting or bool(exc.rcvd and exc.rcvd.code == CLOSE_SERVICE_RESTART)
                stats.on_error("closed" if connected_at else "closed_in_handshake")
            except (OSError, TimeoutError, InvalidHandshake, ProtocolError) as exc:
                stats.on_error(type(exc).__name__)
            if connected_at and time.monotonic() - connected_at > 30:
                self._backoff.reset()
            await asyncio.sleep(self._backoff.next_delay(_RESTART_CAP if restarting else None))

    async def _connect(self) -> ClientConnection:
        """Dial and get welcomed, holding one of the fleet's handshake slots throughout."""
        cfg = self.fleet.config
        async with self.fleet.handshakes:
            ws = await connect(
                cfg.link_url,
                additional_headers={"Authorization": f"Bearer {self.credential}"},
                user_agent_header=f"opsplane-simulator/{__version__}",
                compression=None,  # no zlib state per connection, on either side
                ping_interval=None,  # heartbeats prove liveness; server pings still get pongs
                open_timeout=cfg.open_timeout,
                close_timeout=2,
                max_queue=4,
            )
            try:
                await self._handshake(ws)
            except BaseException:
                await ws.close()
                raise
        return ws

    async def _handshake(self, ws: ClientConnection) -> None:
        inventory = fake_inventory(self.name, self.index)
        await ws.send(encode("hello", Hello(PROTOCOL_VERSION, inventory.agent_version, inventory)))
        async with asyncio.timeout(self.fleet.config.open_timeout):
            frame, body = decode(await ws.recv(decode=False))
        if isinstance(body, Refuse):
            if body.permanent:
                raise _Refused(body.code)
            raise ProtocolError(f"refused: {body.code}")
        if not isinstance(body, Welcome):
            raise ProtocolError(f"expected welcome, got {frame.type}")
        self.node_id = body.node_id
        self.config = body.config
        # Drop what the server already stored; everything else is resent below.
        acked = body.acked.get("metrics", 0)
        self._metrics_seq = max(self._metrics_seq, acked)
        while self._unacked and self._unacked[0][0] <= acked:
            self._unacked.popleft()

    async def _serve(self, ws: ClientConnection) -> None:
        stats = self.fleet.stats
        stats.on_connected(first_time=not self.welcomed)
        self.welcomed = True
        ticker = asyncio.create_task(self._tick(ws))
        try:
            await self._resend_unacked(ws)
            await self._read(ws)
        finally:
            stats.on_disconnected()
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)

    async def _read(self, ws: ClientConnection) -> None:
        stats = self.fleet.stats
        while True:
            frame, body = decode(await ws.recv(decode=False))
            if isinstance(body, Ack):
                self._on_ack(body)
            elif isinstance(body, Command):
                stats.commands[body.name] += 1
                await ws.send(encode("result", self._answer(body), frame_id=frame.id))
            elif isinstance(body, Refuse) and body.permanent:
                raise _Refused(body.code)

    def _on_ack(self, ack: Ack) -> None:
        stats = self.fleet.stats
        if ack.stream == "heartbeat":
            seq, sent = self._hb_sent
            if ack.seq == seq:
                stats.on_heartbeat_ack(time.monotonic() - sent)
        elif ack.stream == "metrics":
            stats.batches_acked += 1
            while self._unacked and self._unacked[0][0] <= ack.seq:
                self._unacked.popleft()

    def _answer(self, command: Command) -> Result:
        # Ping and config are cheap enough to answer inline, without a task per command.
        if command.deadline and time.time() > command.deadline:
            return Result(ok=False, error="deadline exceeded")
        if command.name == "ping":
            reply = PingReply(
                sent_at=float(command.args.get("sent_at", 0.0)), agent_time=time.time()
            )
            return Result(ok=True, data=msgspec.to_builtins(reply))
        if command.name == "config":
            try:
                self.config = msgspec.convert(command.args, AgentConfig)
            except msgspec.ValidationError as exc:
                return Result(ok=False, error=f"invalid config: {exc}")
            return Result(ok=True, data=msgspec.to_builtins(self.config))
        return Result(ok=False, error=f"unknown command {command.name!r}")

    async def _tick(self, ws: ClientConnection) -> None:
        """Heartbeats from the welcome on; metrics on aligned ticks plus a per-agent skew."""
        skew = random.uniform(0, self.fleet.config.metrics_skew)
        next_heartbeat = time.time()
        next_metrics = _next_tick(time.time(), self.config.metrics_interval) + skew
        while True:
            now = time.time()
            if now >= next_heartbeat:
                await self._send_heartbeat(ws)
                next_heartbeat = now + self.config.heartbeat_interval
            if now >= next_metrics:
                await self._send_metrics(ws, round((next_metrics - skew) * 1000))
                next_metrics = _next_tick(now, self.config.metrics_interval) + skew
            await asyncio.sleep(max(0.0, min(next_heartbeat, next_metrics) - time.time()))

    async def _send_heartbeat(self, ws: ClientConnection) -> None:
        self._hb_seq += 1
        self._hb_sent = (self._hb_seq, time.monotonic())
        heartbeat = Heartbeat(
            seq=self._hb_seq, sent_at=time.time(), spool_pending=len(self._unacked)
        )
        await ws.send(encode("heartbeat", heartbeat))

    async def _send_metrics(self, ws: ClientConnection, ts_ms: int) -> None:
        self._metrics_seq += 1
        points = _synthetic_points(ts_ms, self.fleet.config.points_per_batch)
        self._unacked.append((self._metrics_seq, points))
        await self._send_batch(ws, self._metrics_seq, self._metrics_seq, points)

    async def _resend_unacked(self, ws: ClientConnection) -> None:
        """Coalesce unacked records into as few batches as the frame size allows."""
        chunk: list[tuple[int, tuple[MetricPoint, ...]]] = []
        size = 0
        for seq, points in list(self._unacked):
            if chunk and size + len(points) > _MAX_POINTS_PER_FRAME:
                await self._send_chunk(ws, chunk)
                chunk, size = [], 0
            chunk.append((seq, points))
            size += len(points)
        if chunk:
            await self._send_chunk(ws, chunk)

    async def _send_chunk(
        self, ws: ClientConnection, chunk: list[tuple[int, tuple[MetricPoint, ...]]]
    ) -> None:
        points = tuple(point for _, record in chunk for point in record)
        await self._send_batch(ws, chunk[0][0], chunk[-1][0], points)

    async def _send_batch(
        self, ws: ClientConnection, first: int, last: int, points: tuple[MetricPoint, ...]
    ) -> None:
        stats = self.fleet.stats
        await ws.send(encode("metrics", MetricBatch(first, last, points)))
        stats.batches_sent += 1
        stats.points_sent += len(points)


def _next_tick(now: float, interval: float) -> float:
    return (math.floor(now / interval) + 1) * interval


def _synthetic_points(ts_ms: int, count: int) -> tuple[MetricPoint, ...]:
    points = [MetricPoint(name, labels, ts_ms, random.random()) for name, labels in _SERIES[:count]]
    # Past the host-like series, numbered extras let benchmarks ask for bigger batches.
    points.extend(
        MetricPoint("sim_extra", {"n": str(n)}, ts_ms, random.random())
        for n in range(count - len(points))
    )
    return tuple(points)
