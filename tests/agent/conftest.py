"""Fixtures for agent tests: a fake server on loopback, settings pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsplane.agent.settings import AgentSettings
from tests.agent.fakeserver import FakeServer


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    fake = FakeServer()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def agent_settings(server: FakeServer, tmp_path: Path) -> AgentSettings:
    return AgentSettings(
        server=server.url,
        state_dir=tmp_path / "state",
        enroll_token="good-token",
        name="test-host",
        backoff_base=0.05,
        backoff_cap=0.2,
        open_timeout=5.0,
    )
