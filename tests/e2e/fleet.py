"""A real local agent for end-to-end tests: enrolled, online, stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for


def node_named(client: httpx.Client, name: str) -> dict[str, Any] | None:
    nodes = client.get("/api/v1/nodes", params={"search": name}).json()["items"]
    return next((n for n in nodes if n["name"] == name), None)


@contextmanager
def online_agent(server: ServerProcess, state_dir: Path, name: str) -> Iterator[dict[str, Any]]:
    """`opsplane agent` on this host (the server's 1 s intervals); yields its node once online."""
    with server.client() as client:
        token = enrollment_token(client, name=name)
        agent = AgentProcess(server.url, state_dir, enroll=token, name=name).start()
        try:
            yield wait_for(
                lambda: (n := node_named(client, name)) and n["status"] == "online" and n,
                timeout=30,
                what=f"agent {name} online; agent log:\n{agent.log()}",
            )
        finally:
            agent.stop()
