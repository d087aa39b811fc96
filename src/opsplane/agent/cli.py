"""Entry points for `opsplane agent` and `opsplane simulate` (the typer commands call these).

Plain functions returning an exit code, so the CLI module stays thin and tests can call
them directly.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import msgspec
import structlog

from opsplane.agent.logs import configure_logging
from opsplane.agent.main import EXIT_BAD_SETUP, Agent
from opsplane.agent.settings import AgentSettings
from opsplane.runtime import tune_gc
from opsplane.simulator import Simulator, SimulatorConfig

log = structlog.get_logger(__name__)


def run_agent(
    server: str,
    enroll: str | None,
    state_dir: Path,
    name: str | None,
    *,
    log_level: str = "info",
    json_logs: bool = True,
) -> int:
    """Run the agent until SIGTERM/SIGINT; returns the process exit code.

    Args:
        server: Server base URL, e.g. http://127.0.0.1:8080.
        enroll: Enrollment token; only used when `state_dir` holds no credential yet.
        state_dir: Where the credential, last config and spool live.
        name: Node name to enroll with (default: the hostname).
    """
    configure_logging(level=log_level, json=json_logs)
    try:
        settings = AgentSettings(server=server, state_dir=state_dir, enroll_token=enroll, name=name)
        settings.link_url()  # fail fast on a malformed URL
    except ValueError as exc:
        log.error("bad settings", error=str(exc))
        return EXIT_BAD_SETUP
    return asyncio.run(Agent(settings).run(handle_signals=True))


def run_simulator(
    server: str,
    enroll: str,
    agents: int,
    *,
    duration: float | None = None,
    report_interval: float = 10.0,
    state_file: Path | None = None,
    name_prefix: str | None = None,
    connect_rate: float = 500.0,
    max_handshakes: int = 200,
    points_per_batch: int = 15,
    log_level: str = "warning",
) -> int:
    """Run `agents` simulated agents until SIGTERM/SIGINT or `duration` seconds.

    Prints one JSON summary line to stdout every `report_interval` seconds and a final one
    (`"final": true`) at exit; logs go to stderr.
    """
    configure_logging(level=log_level)
    config = SimulatorConfig(
        server=server,
        enroll_token=enroll,
        agents=agents,
        state_file=state_file,
        name_prefix=name_prefix,
        connect_rate=connect_rate,
        max_handshakes=max_handshakes,
        points_per_batch=points_per_batch,
    )
    try:
        config.agent_settings().link_url()
    except ValueError as exc:
        log.error("bad settings", error=str(exc))
        return EXIT_BAD_SETUP
    tune_gc()  # thousands of links in one process: the same pauses as the server's
    with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
        runner.run(_simulate(Simulator(config), duration, report_interval))
    return 0


async def _simulate(simulator: Simulator, duration: float | None, report_interval: float) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if duration is not None:
        loop.call_later(duration, stop.set)
    await simulator.start()
    try:
        while not stop.is_set():
            try:
                async with asyncio.timeout(report_interval):
                    await stop.wait()
            except TimeoutError:
                _print(simulator.summary())
        # Before closing the links, so "connected" still means something.
        _print(simulator.summary(final=True))
    finally:
        await simulator.stop()


def _print(summary: dict[str, object]) -> None:
    sys.stdout.write(msgspec.json.encode(summary).decode() + "\n")
    sys.stdout.flush()


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    # uvloop comes with the server extra; it roughly halves the simulator's CPU per message.
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
