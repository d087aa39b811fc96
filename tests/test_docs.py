"""The docs name every setting the server has (docs that drift are worse than none)."""

from __future__ import annotations

from opsplane.server.settings import Settings
from tests.support.env import REPO


def test_configuration_page_names_every_setting() -> None:
    page = (REPO / "docs" / "configuration.md").read_text()
    missing = [
        f"OPSPLANE_{name.upper()}"
        for name in Settings.model_fields
        if f"OPSPLANE_{name.upper()}" not in page
    ]
    assert missing == []


def test_readme_opens_with_the_two_commands() -> None:
    opening = "\n".join((REPO / "README.md").read_text().splitlines()[:10])
    assert "make run" in opening
    assert "make test" in opening
