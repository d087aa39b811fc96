"""The simulated fleet: enrolls and connects N agents at a bounded rate, and keeps figures.

Usage from a benchmark::

    async with Simulator(SimulatorConfig(server=url, enroll_token=token, agents=1000)) as sim:
        async with asyncio.timeout(120):
            await sim.wait_all_connected()
        await asyncio.sleep(60)
        print(sim.summary())
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from pathlib import Path
from typing import Any, Self

import httpx
import msgspec
import structlog

from opsplane import __version__
from opsplane.agent.backoff import Backoff
from opsplane.agent.enroll import EnrollmentRefused, ServerUnavailable, register
from opsplane.agent.settings import AgentSettings
from opsplane.agent.state import write_private_file
from opsplane.simulator.agent import SimAgent, fake_inventory
from opsplane.simulator.stats import FleetStats

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SimulatorConfig:
    """How many agents, how fast they arrive, and how heavy each one is.

    Args:
        server: Server base URL (http:// or https://).
        enroll_token: Enrollment token with enough uses for every agent not in `state_file`.
        agents: Number of simulated agents.
        name_prefix: Node names are `<prefix>-00001`...; random per run unless a state
            file supplies one (so re-runs without it never collide with earlier nodes).
        state_file: JSON file of credentials; re-runs reuse the same nodes.
        connect_rate: New agents started per second (staggered start).
        max_handshakes: Dials (TCP + upgrade + hello/welcome) in progress at once.
        enroll_concurrency: Registration requests in flight at once.
        open_timeout: Seconds allowed for a dial and its welcome.
        points_per_batch: Metric points per synthetic batch.
        metrics_skew: Up to this many seconds of per-agent offset after the aligned tick
            (real agents differ by clock skew and collection time).
    """

    server: str
    enroll_token: str
    agents: int = 100
    name_prefix: str | None = None
    state_file: Path | None = None
    connect_rate: float = 500.0
    max_handshakes: int = 200
    enroll_concurrency: int = 32
    open_timeout: float = 30.0
    points_per_batch: int = 15
    metrics_skew: float = 1.0

    def agent_settings(self) -> AgentSettings:
        return AgentSettings(
            server=self.server, state_dir=Path("."), enroll_token=self.enroll_token
        )

    @property
    def link_url(self) -> str:
        return self.agent_settings().link_url()


class _SavedNode(msgspec.Struct):
    node_id: str
    credential: str


class _StateFile(msgspec.Struct):
    prefix: str
    server: str = ""
    nodes: dict[str, _SavedNode] = msgspec.field(default_factory=dict)


class Simulator:
    """N simulated agents in this event loop; `start()`, watch `stats`, then `stop()`."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.stats = FleetStats(config.agents)
        self.handshakes = asyncio.Semaphore(config.max_handshakes)
        self.agents: list[SimAgent] = []
        self._enrolling = asyncio.Semaphore(config.enroll_concurrency)
        self._state = self._load_state()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Begin the staggered start; returns at once (agents arrive at `connect_rate`)."""
        self._http = httpx.AsyncClient(
            timeout=self.config.open_timeout,
            # Keep every pooled connection alive: a new TCP connection per enrollment
            # would double the simulator's CPU per agent.
            limits=httpx.Limits(
                max_connections=self.config.enroll_concurrency,
                max_keepalive_connections=self.config.enroll_concurrency,
            ),
            headers={"User-Agent": f"opsplane-simulator/{__version__}"},
        )
        self._spawn(self._ramp())
        self._spawn(self._watch_loop_lag())

    async def wait_all_connected(self) -> None:
        """Return once every agent has been connected at the same time (wrap in a timeout)."""
        await self.stats.all_connected.wait()

    def summary(self, *, final: bool = False) -> dict[str, Any]:
        return self.stats.summary(final=final)

    async def stop(self) -> None:
        """Close every agent's link (each closes its socket on cancel) and save credentials."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._save_state()

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ramp(self) -> None:
        started = time.monotonic()
        for index in range(1, self.config.agents + 1):
            delay = started + (index - 1) / self.config.connect_rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            name = f"{self._state.prefix}-{index:05d}"
            saved = self._state.nodes.get(name)
            agent = SimAgent(self, index, name, saved.credential if saved else None)
            self.agents.append(agent)
            self._spawn(self._live(agent))

    async def _live(self, agent: SimAgent) -> None:
        if agent.credential is None and not await self._enroll(agent):
            return
        self.stats.on_enrolled()
        await agent.run()

    async def _enroll(self, agent: SimAgent) -> bool:
        assert self._http is not None
        settings = self.config.agent_settings()
        backoff = Backoff(base=0.5, cap=10.0)
        inventory = fake_inventory(agent.name, agent.index)
        while True:
            try:
                async with self._enrolling:
                    credential = await register(self._http, settings, agent.name, inventory)
            except EnrollmentRefused as exc:
                self.stats.on_error(f"enroll_{exc.code}")
                return False
            except ServerUnavailable:  # 5xx, 429: the server is busy
                self.stats.on_error("enroll_server_unavailable")
                await asyncio.sleep(backoff.next_delay())
                continue
            except httpx.HTTPError as exc:  # refused, reset, timed out
                self.stats.on_error(f"enroll_{type(exc).__name__}")
                await asyncio.sleep(backoff.next_delay())
                continue
            agent.credential = credential.credential
            self._state.nodes[agent.name] = _SavedNode(credential.node_id, credential.credential)
            return True

    async def _watch_loop_lag(self) -> None:
        """How late the loop wakes up: high values mean the simulator itself is saturated."""
        period = 0.1
        while True:
            before = time.monotonic()
            await asyncio.sleep(period)
            self.stats.loop_lag_window.add(max(0.0, time.monotonic() - before - period))

    def _load_state(self) -> _StateFile:
        path = self.config.state_file
        prefix = self.config.name_prefix or f"sim-{secrets.token_hex(3)}"
        if path is None or not path.exists():
            return _StateFile(prefix=prefix, server=self.config.server)
        state = msgspec.json.decode(path.read_bytes(), type=_StateFile)
        if self.config.name_prefix and self.config.name_prefix != state.prefix:
            # Another prefix means other nodes: start a fresh list under it.
            return _StateFile(prefix=prefix, server=self.config.server)
        return state

    def _save_state(self) -> None:
        if self.config.state_file is not None:
            write_private_file(self.config.state_file, msgspec.json.encode(self._state))
