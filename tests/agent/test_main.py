"""The whole agent in-process: enrollment, state dir, link, collection, events, exit codes."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
from collections.abc import Sequence

from opsplane.agent.main import EXIT_BAD_SETUP, EXIT_OK, EXIT_REFUSED, Agent
from opsplane.agent.settings import AgentSettings
from opsplane.protocol.session import AgentConfig, Refuse
from opsplane.protocol.telemetry import MetricPoint
from tests.agent.fakeserver import FakeServer, eventually


class TinyCollector:
    name = "tiny"

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        return [MetricPoint("tiny_value", {}, ts_ms, 1.0)]

    def problems(self) -> list[str]:
        return []


def agent(settings: AgentSettings, collectors: Sequence[TinyCollector] | None = None) -> Agent:
    return Agent(settings, collectors=list(collectors or [TinyCollector()]))


async def start(a: Agent) -> asyncio.Task[int]:
    return asyncio.create_task(a.run())


async def test_enrolls_once_and_keeps_the_node(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    first = agent(agent_settings)
    task = await start(first)
    await eventually(lambda: server.nodes and server.only_node().metric_batches)
    node = server.only_node()
    credential_file = agent_settings.state_dir / "credential.json"
    assert stat.S_IMODE(credential_file.stat().st_mode) == 0o600
    first.stop()
    assert await task == EXIT_OK

    second = agent(dataclasses.replace(agent_settings, enroll_token="no-longer-valid"))
    task = await start(second)
    await eventually(lambda: len(node.hellos) == 2)
    second.stop()
    assert await task == EXIT_OK
    assert server.registrations == 1
    assert len(server.nodes) == 1


async def test_ships_aligned_metrics_and_a_start_event(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    server.config = AgentConfig(heartbeat_interval=0.2, metrics_interval=0.1)
    a = agent(agent_settings)
    task = await start(a)
    await eventually(lambda: server.nodes and len(server.only_node().metric_batches) >= 5)
    a.stop()
    assert await task == EXIT_OK
    node = server.only_node()
    stamps = [p.ts_ms for b in node.metric_batches for p in b.points]
    assert all(ts % 100 == 0 for ts in stamps)
    assert stamps == sorted(set(stamps))
    (event,) = [e for b in node.event_batches for e in b.events]
    assert event.kind == "agent.started"


async def test_revoked_agent_exits_non_zero(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    server.refuse = (Refuse("revoked", "node was revoked", permanent=True), 4403)
    async with asyncio.timeout(10):
        assert await agent(agent_settings).run() == EXIT_REFUSED
    assert server.links_opened == 1


async def test_refused_enrollment_exits_non_zero(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    settings = dataclasses.replace(agent_settings, enroll_token="wrong")
    async with asyncio.timeout(10):
        assert await agent(settings).run() == EXIT_REFUSED
    assert not (agent_settings.state_dir / "credential.json").exists()


async def test_unusable_state_dir(server: FakeServer, agent_settings: AgentSettings) -> None:
    agent_settings.state_dir.parent.mkdir(parents=True, exist_ok=True)
    agent_settings.state_dir.write_text("not a directory")
    assert await agent(agent_settings).run() == EXIT_BAD_SETUP


async def test_stop_while_waiting_for_the_server(agent_settings: AgentSettings) -> None:
    absent = FakeServer()  # never started: enrollment keeps retrying
    a = agent(dataclasses.replace(agent_settings, server=absent.url))
    task = await start(a)
    await asyncio.sleep(0.3)
    a.stop()
    async with asyncio.timeout(5):
        assert await task == EXIT_OK


async def test_corrupt_spool_is_a_setup_error(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    agent_settings.state_dir.mkdir(parents=True)
    (agent_settings.state_dir / "spool.sqlite3").write_bytes(b"this is not sqlite" * 100)
    server.add_node()  # enrollment works; the spool is what fails
    assert await agent(agent_settings).run() == EXIT_BAD_SETUP


async def test_corrupt_file_states_are_a_setup_error(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    agent_settings.state_dir.mkdir(parents=True)
    (agent_settings.state_dir / "files.sqlite3").write_bytes(b"this is not sqlite" * 100)
    server.add_node()
    assert await agent(agent_settings).run() == EXIT_BAD_SETUP
