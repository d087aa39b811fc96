from __future__ import annotations

from pathlib import Path

import pytest

from opsplane.agent.settings import AgentSettings


def settings(server: str) -> AgentSettings:
    return AgentSettings(server=server, state_dir=Path("."))


@pytest.mark.parametrize(
    ("server", "link", "register"),
    [
        ("http://h:8080", "ws://h:8080/api/v1/agent/link", "http://h:8080/api/v1/agents/register"),
        ("https://h/", "wss://h/api/v1/agent/link", "https://h/api/v1/agents/register"),
        ("https://h/ops", "wss://h/ops/api/v1/agent/link", "https://h/ops/api/v1/agents/register"),
        ("ws://h:1", "ws://h:1/api/v1/agent/link", "http://h:1/api/v1/agents/register"),
    ],
)
def test_urls(server: str, link: str, register: str) -> None:
    assert settings(server).link_url() == link
    assert settings(server).register_url() == register


def test_bad_scheme() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        settings("ftp://h").link_url()
