"""The file pipeline on its own (no link): a spool, a live config, the fake server's uploads.

Notices stay in the spool, where tests read them; `Pipeline.restart()` is an agent restart
with the same state dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest

from opsplane.agent.config import LiveConfig
from opsplane.agent.files.pipeline import FilePipeline
from opsplane.agent.settings import AgentSettings
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.streams import FILES
from opsplane.protocol.files import FileNotice, WatchRule
from opsplane.protocol.session import AgentConfig
from tests.agent.fakeserver import FakeNode, FakeServer

_notices = msgspec.json.Decoder(list[FileNotice])


def rule(directory: Path, **fields: object) -> WatchRule:
    values: dict[str, object] = {
        "id": "r1",
        "name": "dumps",
        "paths": (str(directory),),
        "stable_seconds": 0.1,
    }
    return WatchRule(**(values | fields))  # type: ignore[arg-type]


def write_file(path: Path, size: int) -> bytes:
    data = os.urandom(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


async def until(check: Callable[[], Awaitable[object]], within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        # Polling is the point: the conditions are spool reads and files on disk.
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@dataclasses.dataclass
class Pipeline:
    settings: AgentSettings
    server: FakeServer
    node: FakeNode
    dumps: Path
    config: AgentConfig = dataclasses.field(default_factory=AgentConfig)
    spool: AsyncSpool | None = None
    live: LiveConfig | None = None
    files: FilePipeline | None = None
    task: asyncio.Task[None] | None = None

    async def start(self, config: AgentConfig | None = None) -> FilePipeline:
        self.config = config or self.config
        state = self.settings.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.spool = await AsyncSpool.open(state / "spool.sqlite3", max_bytes=1 << 20)
        self.live = LiveConfig(self.config)
        self.files = await FilePipeline.open(
            db_path=state / "files.sqlite3",
            settings=self.settings,
            credential=self.node.credential,
            spool=self.spool,
            config=self.live,
        )
        self.task = asyncio.create_task(self.files.run())
        return self.files

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.files is not None:
            await self.files.aclose()
        if self.spool is not None:
            await self.spool.close()
        self.task = self.files = self.spool = None

    async def restart(self) -> FilePipeline:
        await self.stop()
        return await self.start()

    async def notices(self) -> list[FileNotice]:
        assert self.spool is not None
        records = await self.spool.read(FILES, 0, max_items=10_000, max_records=10_000)
        return [notice for record in records for notice in _notices.decode(record.payload)]

    async def events(self) -> list[tuple[str, str]]:
        """(event, file name) of every notice so far, in order."""
        return [(n.event, Path(n.path).name) for n in await self.notices()]

    async def wait_for(self, event: str, name: str, within: float = 10.0) -> FileNotice:
        async def seen() -> FileNotice | None:
            found = [
                n for n in await self.notices() if (n.event, Path(n.path).name) == (event, name)
            ]
            return found[-1] if found else None

        await until(seen, within)
        notice = await seen()
        assert notice is not None
        return notice


@pytest.fixture
async def pipeline(server: FakeServer, tmp_path: Path) -> AsyncIterator[Pipeline]:
    settings = AgentSettings(
        server=server.url,
        state_dir=tmp_path / "state",
        file_poll_interval=0.05,
        upload_backoff_base=0.05,
        upload_backoff_cap=0.2,
        upload_max_failures=5,
        http_timeout=5.0,
    )
    harness = Pipeline(settings, server, server.add_node(), tmp_path / "dumps")
    harness.dumps.mkdir()
    yield harness
    await harness.stop()
