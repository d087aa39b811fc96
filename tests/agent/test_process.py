"""The agent as a real process: CLI entry point, JSON logs, clean SIGTERM, light imports."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.agent.fakeserver import FakeServer, eventually

RUN_AGENT = (
    "import sys; from pathlib import Path; from opsplane.agent.cli import run_agent; "
    "sys.exit(run_agent(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]))"
)


async def test_sigterm_stops_the_agent_cleanly(server: FakeServer, tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RUN_AGENT,
        server.url,
        "good-token",
        str(tmp_path / "state"),
        "proc-host",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await eventually(lambda: server.nodes and server.only_node().heartbeats, within=20)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            _, stderr = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, stderr.decode()
    lines = [json.loads(line) for line in stderr.decode().splitlines()]
    events = [line["event"] for line in lines]
    assert "enrolled" in events
    assert "link up" in events
    assert events[-1] == "agent stopped"
    assert all("level" in line and "timestamp" in line for line in lines)
    credential = server.only_node().credential
    assert credential not in stderr.decode()  # secrets are never logged
    await eventually(lambda: server.only_node().ws is None)


def test_agent_imports_no_server_dependencies() -> None:
    heavy = ("opsplane.server", "fastapi", "sqlalchemy", "pydantic", "starlette", "uvicorn")
    code = (
        "import sys, opsplane.agent.cli, opsplane.agent.main, opsplane.simulator; "
        f"print([m for m in sys.modules if m.startswith({heavy!r})])"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "[]"
