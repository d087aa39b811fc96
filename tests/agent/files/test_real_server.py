"""The agent's uploads against a real `opsplane server` process: both sides killed mid-upload.

The server's upload API is the real one (fsync'd chunks, offsets in its database); the
agent is a real process. A 3 MiB file goes up at 768 KiB/s in 64 KiB chunks (both set on
the server, which pushes the limit to the agent), so there is time to kill each side.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import ServerProcess, enrollment_token, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SIZE = 3 * 1024 * 1024
RATE = 768 * 1024

RUN_AGENT = """
import asyncio, sys
from pathlib import Path
from opsplane.agent.logs import configure_logging
from opsplane.agent.main import Agent
from opsplane.agent.settings import AgentSettings
configure_logging(level="info", json=True)
settings = AgentSettings(
    server=sys.argv[1], state_dir=Path(sys.argv[2]), enroll_token=sys.argv[3], name="dumphost",
    file_poll_interval=0.2, upload_backoff_base=0.2, upload_backoff_cap=1.0,
)
sys.exit(asyncio.run(Agent(settings).run(handle_signals=True)))
"""


class Agent:
    """The agent in a subprocess, with settings tuned for quick retries."""

    def __init__(self, server: str, state: Path, token: str) -> None:
        self.args = [sys.executable, "-c", RUN_AGENT, server, str(state), token]
        self.log = state.parent / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(15)


def dump_file(client: httpx.Client) -> dict[str, Any] | None:
    items = client.get("/api/v1/files", params={"node": "dumphost"}).json()["items"]
    return items[0] if items else None


def uploaded_bytes(server: ServerProcess) -> int:
    """Bytes the server holds on disk for the upload in progress (its `.part` file)."""
    parts = list((server.data_dir / "uploads").glob("*.part"))
    return max((p.stat().st_size for p in parts), default=0)


def test_uploads_survive_an_agent_kill_and_a_server_kill(tmp_path: Path) -> None:
    server = ServerProcess(
        tmp_path / "server",
        env={
            "OPSPLANE_HEARTBEAT_INTERVAL": "1",
            "OPSPLANE_DUMPS_CHUNK_SIZE": str(64 * 1024),
            "OPSPLANE_DUMPS_UPLOAD_BYTES_PER_SECOND": str(RATE),
        },
    )
    server.start()
    agent: Agent | None = None
    try:
        client = server.client()
        dumps = tmp_path / "dumps"
        dumps.mkdir()
        rule = {
            "name": "oom",
            "paths": [str(dumps)],
            "patterns": ["*.hprof"],
            "stable_seconds": 0.5,
        }
        assert client.post("/api/v1/dumps/watch-rules", json=rule).status_code == 201
        data = os.urandom(SIZE)
        (dumps / "java_pid77.hprof").write_bytes(data)

        agent = Agent(server.url, tmp_path / "state", enrollment_token(client, name="dumphost"))
        agent.start()
        wait_for(lambda: uploaded_bytes(server) > SIZE // 6, timeout=60, what="upload started")
        agent.stop(signal.SIGKILL)
        at_agent_kill = uploaded_bytes(server)
        agent.start()
        wait_for(
            lambda: uploaded_bytes(server) > at_agent_kill + SIZE // 6,
            timeout=30,
            what="upload resumed after the agent restart",
        )
        server.stop(signal.SIGKILL)
        at_server_kill = uploaded_bytes(server)
        assert at_server_kill < SIZE
        server.start()
        stored = wait_for(
            lambda: (f := dump_file(client)) and f["sha256"] and f,
            timeout=60,
            what="upload complete",
        )
        assert stored["sha256"] == hashlib.sha256(data).hexdigest()
        assert (stored["size"], stored["file_name"]) == (SIZE, "java_pid77.hprof")
        assert client.get(f"/api/v1/files/{stored['id']}/download").content == data
        detail = client.get(f"/api/v1/files/{stored['id']}").json()
        upload_steps = [r for r in detail["processing"] if r["step"] == "upload"]
        assert [r["status"] for r in upload_steps] == ["success"]  # one upload, resumed twice
    finally:
        if agent is not None and agent.proc is not None:
            agent.stop()
        server.close()
        if agent is not None and agent.log.exists():  # shown by pytest when the test fails
            sys.stdout.write(agent.log.read_text(errors="replace")[-6000:])
