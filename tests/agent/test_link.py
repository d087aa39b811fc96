"""The link against a fake server speaking the real protocol over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from opsplane import __version__
from opsplane.agent.commands import CommandRunner, builtin_handlers
from opsplane.agent.config import LiveConfig
from opsplane.agent.link import Link, PermanentRefusal
from opsplane.agent.settings import AgentSettings
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.state import StateDir
from opsplane.agent.streams import METRICS, encode_points
from opsplane.protocol import PROTOCOL_VERSION
from opsplane.protocol.commands import Command
from opsplane.protocol.inventory import Inventory
from opsplane.protocol.session import AgentConfig, Hello, Refuse
from opsplane.protocol.telemetry import MetricBatch, MetricPoint
from tests.agent.fakeserver import FakeNode, FakeServer, eventually


@dataclasses.dataclass
class Running:
    link: Link
    spool: AsyncSpool
    config: LiveConfig
    commands: CommandRunner
    node: FakeNode
    task: asyncio.Task[None]
    state: StateDir


async def fake_hello() -> Hello:
    inventory = Inventory("test-host", "Test OS", "6.0", "x86_64", "Test CPU", 2, 1 << 30)
    return Hello(PROTOCOL_VERSION, __version__, inventory)


async def open_spool(settings: AgentSettings) -> AsyncSpool:
    return await AsyncSpool.open(StateDir(settings.state_dir).spool_path, max_bytes=10**8)


@contextlib.asynccontextmanager
async def running(
    server: FakeServer,
    settings: AgentSettings,
    *,
    node: FakeNode | None = None,
    credential: str | None = None,
    spool: AsyncSpool | None = None,
) -> AsyncIterator[Running]:
    node = node or server.add_node()
    state = StateDir(settings.state_dir)
    spool = spool or await open_spool(settings)
    config = LiveConfig(AgentConfig(), persist=state.save_config)
    commands = CommandRunner(builtin_handlers(config))
    link = Link(
        settings=settings,
        credential=credential or node.credential,
        spool=spool,
        config=config,
        commands=commands,
        hello=fake_hello,
    )
    task = asyncio.create_task(link.run())
    try:
        yield Running(link, spool, config, commands, node, task, state)
    finally:
        await link.close()
        with contextlib.suppress(PermanentRefusal):
            async with asyncio.timeout(5):
                await task
        await commands.aclose()
        await spool.close()


async def spool_points(spool: AsyncSpool, ts_ms: int, count: int = 2) -> None:
    points = [MetricPoint("m", {"i": str(i)}, ts_ms, float(i)) for i in range(count)]
    await spool.append(METRICS, encode_points(points), len(points))


def stored_seqs(node: FakeNode) -> list[int]:
    return [seq for b in node.metric_batches for seq in range(b.first_seq, b.seq + 1)]


async def test_hello_welcome_and_heartbeats(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings) as r:
        await eventually(lambda: len(r.node.heartbeats) >= 3)
        assert r.link.stats.connected
        assert r.link.stats.node_id == r.node.node_id
        assert r.node.hellos[0].protocol_version == PROTOCOL_VERSION
        seqs = [hb.seq for hb in r.node.heartbeats]
        assert seqs == sorted(set(seqs))
        await eventually(lambda: r.link.stats.heartbeat_rtt is not None)
        # The welcome's config is applied and kept for the next start.
        assert r.config.current == server.config
        assert r.state.load_config() == server.config


async def test_acked_batches_leave_the_spool(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings) as r:
        for n in range(3):
            await spool_points(r.spool, 1000 + n)
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        assert stored_seqs(r.node) == [1, 2, 3]
        assert [p.ts_ms for b in r.node.metric_batches for p in b.points] == [
            1000,
            1000,
            1001,
            1001,
            1002,
            1002,
        ]


async def test_records_the_server_already_has_are_not_resent(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    spool = await open_spool(agent_settings)
    for n in range(5):
        await spool_points(spool, n)
    node = server.add_node()
    node.acked["metrics"] = 3
    async with running(server, agent_settings, node=node, spool=spool) as r:
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        assert stored_seqs(r.node) == [4, 5]


async def test_reconnect_resends_unacked_coalesced(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    settings = dataclasses.replace(agent_settings, max_batches_in_flight=8)
    server.hold_acks = True
    async with running(server, settings) as r:
        await eventually(lambda: r.link.stats.connected)
        for n in range(3):
            await spool_points(r.spool, n)
            await eventually(lambda n=n: len(r.node.received) == n + 1)  # one frame each
        assert r.spool.pending(METRICS) == 3
        server.hold_acks = False
        await server.drop_links()
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        # After the outage the backlog goes as one batch covering all three records.
        assert [(b.first_seq, b.seq) for b in r.node.metric_batches] == [(1, 3)]
        assert r.link.stats.connects == 2


async def test_in_flight_window_and_frame_size_are_bounded(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    settings = dataclasses.replace(
        agent_settings, max_batches_in_flight=2, max_points_per_frame=5000
    )
    server.hold_acks = True
    async with running(server, settings) as r:
        await eventually(lambda: r.link.stats.connected)
        for n in range(5):
            await spool_points(r.spool, n, count=3000)
        await eventually(lambda: len(r.node.received) == 2)
        await asyncio.sleep(0.2)
        assert len(r.node.received) == 2  # the window is full until acks come
        server.hold_acks = False
        await server.drop_links()
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        assert stored_seqs(r.node) == [1, 2, 3, 4, 5]
        assert all(len(b.points) <= 5000 for b in r.node.metric_batches)


async def test_server_restart_loses_nothing(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings) as r:
        await spool_points(r.spool, 0)
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        await server.stop()
        for n in range(1, 20):
            await spool_points(r.spool, n)
        await asyncio.sleep(0.3)  # a few failed redials
        assert r.spool.pending(METRICS) == 19
        await server.start()
        await eventually(lambda: r.spool.pending(METRICS) == 0)
        assert stored_seqs(r.node) == list(range(1, 21))
        assert sorted(p.ts_ms for b in r.node.metric_batches for p in b.points)[::2] == list(
            range(20)
        )


async def test_a_restarting_server_gets_its_agents_back_soon(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    # The growing backoff after ~2 s of failed redials would wait up to 25 s; a server that
    # said it restarts (1012) is redialled within the short restart cap instead.
    settings = dataclasses.replace(
        agent_settings, backoff_base=0.4, backoff_cap=30, restart_backoff_cap=0.2
    )
    async with running(server, settings) as r:
        await eventually(lambda: len(r.node.hellos) == 1)
        await server.drop_links(1012)
        await server.stop()
        await asyncio.sleep(2.0)
        await server.start()
        restarted = time.monotonic()
        await eventually(lambda: len(r.node.hellos) == 2, within=5)
        assert time.monotonic() - restarted < 1.0


@pytest.mark.parametrize(
    ("refuse", "code"),
    [
        ((Refuse("revoked", "node was revoked", permanent=True), 4403), "revoked"),
        ((Refuse("protocol_version", "upgrade", permanent=True), 4400), "protocol_version"),
    ],
)
async def test_permanent_refusal_ends_the_link(
    server: FakeServer, agent_settings: AgentSettings, refuse: tuple[Refuse, int], code: str
) -> None:
    server.refuse = refuse
    async with running(server, agent_settings) as r:
        with pytest.raises(PermanentRefusal) as caught:
            async with asyncio.timeout(5):
                await asyncio.shield(r.task)
        assert caught.value.code == code
        await asyncio.sleep(0.3)
        assert server.links_opened == 1  # never retried


async def test_unknown_credential_is_permanent(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings, credential="stolen") as r:
        with pytest.raises(PermanentRefusal, match="bad_credential"):
            async with asyncio.timeout(5):
                await asyncio.shield(r.task)


async def test_revoked_close_code_alone_is_permanent(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    server.close_after_hello = 4403
    async with running(server, agent_settings) as r:
        with pytest.raises(PermanentRefusal, match="agent_revoked"):
            async with asyncio.timeout(5):
                await asyncio.shield(r.task)


async def test_temporary_refusal_is_retried(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    server.refuse = (Refuse("busy", "try later"), 1013)
    async with running(server, agent_settings) as r:
        await eventually(lambda: server.links_opened >= 3)
        assert not r.task.done()
        server.refuse = None
        await eventually(lambda: r.link.stats.connected)


async def test_commands_are_answered(server: FakeServer, agent_settings: AgentSettings) -> None:
    async with running(server, agent_settings) as r:
        await eventually(lambda: r.node.ws is not None)
        sent = time.time()
        ping = await server.command(r.node, "ping", {"sent_at": sent})
        assert ping.ok
        assert ping.data["sent_at"] == sent
        unknown = await server.command(r.node, "frobnicate")
        assert not unknown.ok
        assert unknown.error == "unknown command 'frobnicate'"
        late = await server.command(r.node, "ping", {"sent_at": sent}, deadline=sent - 10)
        assert not late.ok
        assert late.error == "deadline exceeded"


async def test_slow_command_does_not_block_the_link(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    release = asyncio.Event()

    async def slow(_: Command) -> Any:
        await release.wait()
        return "finally"

    async with running(server, agent_settings) as r:
        r.commands.register("slow", slow)
        await eventually(lambda: r.node.ws is not None)
        pending = asyncio.create_task(server.command(r.node, "slow"))
        beats = len(r.node.heartbeats)
        assert (await server.command(r.node, "ping", {"sent_at": 1.0})).ok
        await eventually(lambda: len(r.node.heartbeats) > beats + 1)
        release.set()
        assert (await pending).data == "finally"


async def test_config_applies_live(server: FakeServer, agent_settings: AgentSettings) -> None:
    server.config = AgentConfig(heartbeat_interval=0.5, metrics_interval=1.0)
    async with running(server, agent_settings) as r:
        await eventually(lambda: r.node.ws is not None)
        before = len(r.node.heartbeats)
        await asyncio.sleep(1.0)
        slow_rate = len(r.node.heartbeats) - before  # ~2 beats
        new = {"heartbeat_interval": 0.1, "metrics_interval": 1.0, "labels": {"rack": "7"}}
        result = await server.command(r.node, "config", new)
        assert result.ok, result.error
        before = len(r.node.heartbeats)
        await asyncio.sleep(1.0)
        fast_rate = len(r.node.heartbeats) - before  # ~10 beats, no restart needed
        assert fast_rate >= 2 * slow_rate + 2, (slow_rate, fast_rate)
        assert r.link.stats.connects == 1
        assert r.config.current.labels == {"rack": "7"}
        assert r.state.load_config() == r.config.current


async def test_unknown_frames_are_skipped(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings) as r:
        await eventually(lambda: r.node.ws is not None)
        assert r.node.ws is not None
        await r.node.ws.send_bytes(b'{"type": "news_from_the_future", "body": {}}')
        await r.node.ws.send_bytes(b"not json at all")
        assert (await server.command(r.node, "ping", {"sent_at": 1.0})).ok
        assert r.link.stats.connects == 1


async def test_heartbeat_reports_backlog(server: FakeServer, agent_settings: AgentSettings) -> None:
    settings = dataclasses.replace(agent_settings, backlog_warning_records=2)
    server.hold_acks = True
    async with running(server, settings) as r:
        for n in range(5):
            await spool_points(r.spool, n)
        await eventually(
            lambda: any(
                hb.problems == ("spool backlog 5 records",) and hb.spool_pending == 5
                for hb in r.node.heartbeats
            )
        )


async def test_unacked_batches_make_the_link_redial(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    settings = dataclasses.replace(agent_settings, ack_timeout=0.3)
    server.hold_acks = True
    async with running(server, settings) as r:
        await spool_points(r.spool, 0)
        await eventually(lambda: r.link.stats.connects >= 2)
        assert r.link.stats.last_error
        assert "did not ack metrics batch 1" in r.link.stats.last_error
        assert isinstance(r.node.received[-1], MetricBatch)


async def test_close_stops_the_link_cleanly(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    async with running(server, agent_settings) as r:
        await eventually(lambda: r.node.ws is not None)
        await r.link.close()
        async with asyncio.timeout(2):
            await r.task
        await eventually(lambda: r.node.ws is None)


async def test_close_while_dialling_does_not_serve(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    node = server.add_node()
    spool = await open_spool(agent_settings)
    config = LiveConfig(AgentConfig())
    commands = CommandRunner(builtin_handlers(config))
    link: Link

    async def hello_then_close() -> Hello:
        # Stop requested after the hello went out but before the welcome is handled.
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(link.close()))
        return await fake_hello()

    link = Link(
        settings=agent_settings,
        credential=node.credential,
        spool=spool,
        config=config,
        commands=commands,
        hello=hello_then_close,
    )
    try:
        async with asyncio.timeout(3):
            await link.run()
        assert link.stats.connects == 0
    finally:
        await spool.close()
