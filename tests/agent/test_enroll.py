from __future__ import annotations

import asyncio
import dataclasses

import pytest

from opsplane.agent.backoff import Backoff
from opsplane.agent.enroll import EnrollmentRefused, enroll
from opsplane.agent.inventory import collect_inventory
from opsplane.agent.settings import AgentSettings
from tests.agent.fakeserver import FakeServer


async def test_enroll_returns_the_node_credential(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    credential = await enroll(agent_settings, collect_inventory())
    node = server.only_node()
    assert (credential.node_id, credential.node_name, credential.credential) == (
        node.node_id,
        "test-host",
        node.credential,
    )


async def test_bad_token_is_refused(server: FakeServer, agent_settings: AgentSettings) -> None:
    settings = dataclasses.replace(agent_settings, enroll_token="expired")
    with pytest.raises(EnrollmentRefused, match="create a new enrollment token") as caught:
        await enroll(settings, collect_inventory())
    assert (caught.value.status, caught.value.code) == (401, "enrollment_token_invalid")


async def test_taken_name_suggests_another(
    server: FakeServer, agent_settings: AgentSettings
) -> None:
    server.add_node("test-host")
    with pytest.raises(EnrollmentRefused, match="pick another with --name") as caught:
        await enroll(agent_settings, collect_inventory())
    assert caught.value.code == "node_name_taken"


async def test_no_token_no_enrollment(agent_settings: AgentSettings) -> None:
    settings = dataclasses.replace(agent_settings, enroll_token=None)
    with pytest.raises(EnrollmentRefused, match="no --enroll"):
        await enroll(settings, collect_inventory())


async def test_retries_until_the_server_is_up(agent_settings: AgentSettings) -> None:
    late = FakeServer()  # not started yet: connection refused
    settings = dataclasses.replace(agent_settings, server=late.url)
    attempt = asyncio.create_task(
        enroll(settings, collect_inventory(), backoff=Backoff(base=0.05, cap=0.1))
    )
    await asyncio.sleep(0.3)
    assert not attempt.done()
    await late.start()
    try:
        async with asyncio.timeout(5):
            credential = await attempt
        assert credential.node_name == "test-host"
    finally:
        await late.stop()
