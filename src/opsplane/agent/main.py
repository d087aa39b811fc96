"""The agent process: enroll once, then run the link, the collectors and the heap-dump
pipeline (watch, upload) until told to stop.

Exit codes: 0 clean stop; 1 the server refused this agent for good (revoked, bad
credential, incompatible protocol, enrollment refused); 2 bad settings or state dir;
3 an internal failure (a bug: the logs say where).
The agent supervises no processes yet; when it does, stopping it must leave them running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import msgspec
import structlog

from opsplane import __version__
from opsplane.agent.collectors.base import Collector
from opsplane.agent.collectors.host import HostCollector
from opsplane.agent.collectors.loop import CollectionLoop
from opsplane.agent.collectors.scrape import ScrapeCollector
from opsplane.agent.collectors.thresholds import ThresholdChecker
from opsplane.agent.commands import CommandRunner, builtin_handlers
from opsplane.agent.config import LiveConfig
from opsplane.agent.enroll import EnrollmentRefused, enroll
from opsplane.agent.files.pipeline import FilePipeline
from opsplane.agent.inventory import collect_inventory
from opsplane.agent.link import Link, PermanentRefusal
from opsplane.agent.settings import AgentSettings
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.state import Credential, StateDir, StateError
from opsplane.agent.streams import EVENTS, encode_events
from opsplane.protocol import PROTOCOL_VERSION
from opsplane.protocol.session import AgentConfig, Hello
from opsplane.protocol.telemetry import Event

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_SETUP = 2
EXIT_FAILED = 3
# How long a stopping link may take to close its socket before it is cancelled.
_CLOSE_GRACE = 5.0
T = TypeVar("T")


class Agent:
    """The wired agent. `run()` returns the process exit code; `stop()` ends it cleanly.

    Args:
        settings: Agent settings.
        collectors: Metric collectors (default: the host collector).
        transport: HTTP transport for enrollment and uploads (tests); the network by default.
        proc_root: The proc filesystem the file watcher looks for writers in (tests).
    """

    def __init__(
        self,
        settings: AgentSettings,
        *,
        collectors: Sequence[Collector] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        proc_root: Path = Path("/proc"),
    ) -> None:
        self.settings = settings
        self.collectors = collectors
        self.transport = transport
        self.proc_root = proc_root
        self.link: Link | None = None
        self.collection: CollectionLoop | None = None
        self.checker: ThresholdChecker | None = None
        self.files: FilePipeline | None = None
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask the agent to shut down (safe from a signal handler)."""
        self._stop.set()

    async def run(self, *, handle_signals: bool = False) -> int:
        if handle_signals:
            _install_signal_handlers(self.stop)
        try:
            return await self._run()
        except StateError as exc:
            log.error("state dir unusable", error=str(exc))
            return EXIT_BAD_SETUP
        except sqlite3.DatabaseError as exc:
            path = str(StateDir(self.settings.state_dir).spool_path)
            log.error(
                "spool unusable: move it away to start an empty one", path=path, error=str(exc)
            )
            return EXIT_BAD_SETUP
        except EnrollmentRefused as exc:
            log.error("enrollment refused, not retrying", code=exc.code, error=str(exc))
            return EXIT_REFUSED

    async def _run(self) -> int:
        state = StateDir(self.settings.state_dir)
        credential = await self._credential(state)
        if credential is None:
            return EXIT_OK  # stopped while enrolling
        # Closed in reverse order, whatever fails on the way: commands, files, spool.
        async with contextlib.AsyncExitStack() as opened:
            spool = await AsyncSpool.open(state.spool_path, max_bytes=self.settings.spool_max_bytes)
            opened.push_async_callback(spool.close)
            stored: AgentConfig | None = await asyncio.to_thread(state.load_config)
            config = LiveConfig(stored or AgentConfig(), persist=state.save_config)
            self.files = files = await FilePipeline.open(
                db_path=state.files_path,
                settings=self.settings,
                credential=credential.credential,
                spool=spool,
                config=config,
                proc_root=self.proc_root,
                transport=self.transport,
            )
            opened.push_async_callback(files.aclose)
            commands = CommandRunner(builtin_handlers(config))
            commands.register("reupload", files.reupload)
            opened.push_async_callback(commands.aclose)
            await _emit(
                spool,
                Event(
                    "agent.started",
                    f"agent {__version__} started",
                    time.time(),
                    {"pid": os.getpid(), "version": __version__},
                ),
            )
            return await self._serve(credential, spool, config, commands, files)

    async def _credential(self, state: StateDir) -> Credential | None:
        """The stored credential; enrolls (once, retrying while unreachable) when there is none."""
        credential = await asyncio.to_thread(state.load_credential)
        if credential is not None:
            if self.settings.name and self.settings.name != credential.node_name:
                log.warning("--name ignored: already enrolled", node_name=credential.node_name)
            return credential
        inventory = await asyncio.to_thread(collect_inventory)
        fresh = await self._until_stopped(
            enroll(self.settings, inventory, transport=self.transport)
        )
        if fresh is None:
            return None
        credential = msgspec.structs.replace(fresh, server=self.settings.server)
        await asyncio.to_thread(state.save_credential, credential)
        log.info("enrolled", node_id=credential.node_id, node_name=credential.node_name)
        return credential

    async def _serve(
        self,
        credential: Credential,
        spool: AsyncSpool,
        config: LiveConfig,
        commands: CommandRunner,
        files: FilePipeline,
    ) -> int:
        collectors = self.collectors
        if collectors is None:
            collectors = [HostCollector(), ScrapeCollector(lambda: config.current.scrape_targets)]
        self.checker = checker = ThresholdChecker(collectors, spool, config)
        self.collection = collection = CollectionLoop(collectors, spool, config, checker=checker)
        self.link = link = Link(
            settings=self.settings,
            credential=credential.credential,
            spool=spool,
            config=config,
            commands=commands,
            hello=_hello,
            problems=lambda: collection.problems() + files.problems(),
        )
        workers = {
            "collection": asyncio.create_task(collection.run(), name="collect"),
            "threshold checks": asyncio.create_task(checker.run(), name="thresholds"),
            "file pipeline": asyncio.create_task(files.run(), name="files"),
        }
        linking = asyncio.create_task(link.run(), name="link")
        stopping = asyncio.create_task(self._stop.wait(), name="stop")
        tasks: list[asyncio.Task[Any]] = [*workers.values(), linking, stopping]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for name, task in workers.items():
                if task.done():
                    # These loops only end on a bug: exit so the service manager restarts us.
                    log.error(f"{name} stopped", error=repr(task.exception()))
                    await link.close()
                    return EXIT_FAILED
            return await self._shutdown(link, linking)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _shutdown(self, link: Link, linking: asyncio.Task[None]) -> int:
        """Close the link and work out the exit code from why we stopped."""
        if linking.done():
            return _exit_code(linking)
        log.info("agent stopping")
        await link.close()
        try:
            async with asyncio.timeout(_CLOSE_GRACE):
                await asyncio.shield(linking)
        except TimeoutError:
            log.warning("link did not close in time")
        except PermanentRefusal:
            pass
        log.info("agent stopped")
        return EXIT_OK

    async def _until_stopped(self, work: Coroutine[Any, Any, T]) -> T | None:
        """Run `work`, giving up (None) when stop() is called first."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait([task, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not task.done():
                task.cancel()
            await asyncio.gather(task, stopping, return_exceptions=True)
        return task.result() if not task.cancelled() else None


def _exit_code(linking: asyncio.Task[None]) -> int:
    error = linking.exception()
    if isinstance(error, PermanentRefusal):
        log.error(
            "server refused this agent for good, not retrying",
            code=error.code,
            reason=error.message,
        )
        return EXIT_REFUSED
    if error is not None:
        log.error("link failed", error=repr(error))
        return EXIT_FAILED
    return EXIT_OK


async def _hello() -> Hello:
    inventory = await asyncio.to_thread(collect_inventory)
    return Hello(protocol_version=PROTOCOL_VERSION, agent_version=__version__, inventory=inventory)


async def _emit(spool: AsyncSpool, event: Event) -> None:
    await spool.append(EVENTS, encode_events([event]), 1)


def _install_signal_handlers(stop: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
