"""Simulated agents against the fake server: the real protocol, many links, one process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from opsplane.protocol.session import AgentConfig, Refuse
from opsplane.simulator import Simulator, SimulatorConfig
from tests.agent.fakeserver import FakeServer, eventually


def config(server: FakeServer, **overrides: object) -> SimulatorConfig:
    values: dict[str, object] = {
        "server": server.url,
        "enroll_token": "good-token",
        "agents": 20,
        "connect_rate": 200.0,
    }
    values.update(overrides)
    return SimulatorConfig(**values)  # type: ignore[arg-type]


async def test_fleet_connects_heartbeats_ships_metrics_and_answers(server: FakeServer) -> None:
    server.config = AgentConfig(heartbeat_interval=0.2, metrics_interval=0.2)
    async with Simulator(config(server, metrics_skew=0.05)) as sim:
        async with asyncio.timeout(10):
            await sim.wait_all_connected()
        nodes = list(server.nodes.values())
        assert len(nodes) == 20
        assert len({n.name for n in nodes}) == 20
        await eventually(lambda: all(len(n.heartbeats) >= 2 and n.metric_batches for n in nodes))
        for node in nodes[:5]:
            ping = await server.command(node, "ping", {"sent_at": 1.5})
            assert ping.ok
            assert ping.data["sent_at"] == 1.5
        changed = await server.command(nodes[0], "config", {"heartbeat_interval": 1.0})
        assert changed.ok
        assert changed.data["heartbeat_interval"] == 1.0
        assert not (await server.command(nodes[0], "nope")).ok
        summary = sim.summary()
    assert summary["connected"] == 20
    assert summary["enrolled"] == 20
    assert summary["connect_all_s"] is not None
    assert summary["heartbeat_rtt_ms"]["count"] > 0
    assert summary["heartbeat_rtt_ms"]["p50"] <= summary["heartbeat_rtt_ms"]["p99"]
    assert summary["commands"] == {"ping": 5, "config": 1, "nope": 1}
    assert summary["batches_acked"] > 0
    json.dumps(summary)  # printable as a JSON line
    await eventually(lambda: all(n.ws is None for n in nodes))  # links closed on exit


async def test_unacked_batches_are_resent_after_reconnect(server: FakeServer) -> None:
    server.config = AgentConfig(heartbeat_interval=0.2, metrics_interval=0.1)
    async with Simulator(config(server, agents=3, metrics_skew=0.0)) as sim:
        async with asyncio.timeout(10):
            await sim.wait_all_connected()
        server.hold_acks = True
        await asyncio.sleep(0.35)
        server.hold_acks = False
        await server.drop_links()
        nodes = list(server.nodes.values())
        await eventually(lambda: all(n.received and n.ws is not None for n in nodes))
        await eventually(lambda: all(not a._unacked for a in sim.agents))
        for node in nodes:
            seqs = [s for b in node.metric_batches for s in range(b.first_seq, b.seq + 1)]
            assert seqs == list(range(1, seqs[-1] + 1))  # no gap


async def test_state_file_reuses_nodes(server: FakeServer, tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    for _ in range(2):
        async with Simulator(config(server, agents=5, state_file=state)) as sim:
            async with asyncio.timeout(10):
                await sim.wait_all_connected()
    assert server.registrations == 5
    assert state.stat().st_mode & 0o777 == 0o600


async def test_revoked_agents_stop(server: FakeServer) -> None:
    server.refuse = (Refuse("revoked", "gone", permanent=True), 4403)
    async with Simulator(config(server, agents=4)) as sim:
        await eventually(lambda: sim.stats.refused == 4)
        await asyncio.sleep(0.2)
        assert server.links_opened == 4


async def test_cli_prints_json_summaries(server: FakeServer) -> None:
    code = (
        "import sys; from opsplane.agent.cli import run_simulator; "
        "sys.exit(run_simulator(sys.argv[1], 'good-token', 3, duration=1.5, report_interval=0.5))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, server.url, stdout=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(30):
        stdout, _ = await process.communicate()
    assert process.returncode == 0
    lines = [json.loads(line) for line in stdout.decode().splitlines()]
    assert len(lines) >= 2
    assert lines[-1]["final"] is True
    assert lines[-1]["connected"] == 3
    assert all(line["type"] == "simulator" for line in lines)
