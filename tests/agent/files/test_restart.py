"""A real agent process killed (SIGKILL) mid-upload and started again on the same state dir."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from opsplane.protocol.session import AgentConfig
from tests.agent.fakeserver import FakeServer, eventually
from tests.agent.files.conftest import rule, write_file

RUN_AGENT = """
import asyncio, sys
from pathlib import Path
from opsplane.agent.main import Agent
from opsplane.agent.settings import AgentSettings
settings = AgentSettings(
    server=sys.argv[1], state_dir=Path(sys.argv[2]), enroll_token="good-token", name="kill-me",
    file_poll_interval=0.05, upload_backoff_base=0.05, upload_backoff_cap=0.2,
)
sys.exit(asyncio.run(Agent(settings).run(handle_signals=True)))
"""


async def start_agent(server: FakeServer, state: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN_AGENT,
        server.url,
        str(state),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_killed_mid_upload_resumes_after_restart(server: FakeServer, tmp_path: Path) -> None:
    dumps = tmp_path / "dumps"
    data = write_file(dumps / "java_pid42.hprof", 2 * 1024 * 1024)
    server.config = AgentConfig(
        heartbeat_interval=0.2, metrics_interval=5.0, watch_rules=(rule(dumps),)
    )
    uploads = server.uploads
    uploads.chunk_delay = 0.1
    agent = await start_agent(server, tmp_path / "state")
    try:
        await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 512 * 1024, 30)
        agent.send_signal(signal.SIGKILL)
        await agent.wait()
        stored = len(uploads.only().data)
        assert stored < len(data)
        agent = await start_agent(server, tmp_path / "state")
        await eventually(lambda: uploads.only().state == "complete", 30)
        node = server.only_node()
        await eventually(lambda: node.notices and node.notices[-1].event == "upload_completed")
        agent.send_signal(signal.SIGTERM)
        assert await agent.wait() == 0
    finally:
        if agent.returncode is None:
            agent.kill()
            await agent.wait()
    assert uploads.only().data == data
    # Resumed from the server's offset: at most the chunk in flight at the kill went twice.
    assert uploads.bytes_received <= len(data) + uploads.chunk_size
    assert uploads.count("status") >= 1
    assert [n.event for n in node.notices] == ["created", "upload_started", "upload_completed"]
    assert len(server.nodes) == 1  # the same node, not a new enrollment
