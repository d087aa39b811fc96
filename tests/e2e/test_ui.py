"""The web UI in real Chromium against a real server and a real local agent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import login, screenshot
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = pytest.mark.e2e


def node_named(client: httpx.Client, name: str) -> dict[str, Any] | None:
    nodes = client.get("/api/v1/nodes", params={"search": name}).json()["items"]
    return next((n for n in nodes if n["name"] == name), None)


def chart_points(page: Page, testid: str) -> int:
    value = page.get_by_test_id(testid).get_attribute("data-points")
    return int(value or 0)


@pytest.fixture
def local_agent(ui_server: ServerProcess, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A real `opsplane agent` on this host, enrolled and online (1 s heartbeats and metrics)."""
    with ui_server.client() as client:
        token = enrollment_token(client, name="e2e", labels={"env": "e2e"})
        agent = AgentProcess(
            ui_server.url, tmp_path / "agent", enroll=token, name="e2e-local"
        ).start()
        try:
            node = wait_for(
                lambda: (n := node_named(client, "e2e-local")) and n["status"] == "online" and n,
                timeout=30,
                what=f"the local agent online; agent log:\n{agent.log()}",
            )
            yield node
        finally:
            agent.stop()


def test_login_node_list_and_live_node_charts(
    page: Page, ui_server: ServerProcess, local_agent: dict[str, Any]
) -> None:
    page.goto(f"{ui_server.url}/nodes")
    expect(page).to_have_url(re.compile(r"/login\?redirect=/nodes$"))
    login(page)
    expect(page).to_have_url(f"{ui_server.url}/nodes")
    expect(page.get_by_test_id("current-user")).to_have_text("admin")

    link = page.get_by_test_id("node-link-e2e-local")
    expect(link).to_be_visible()
    row = page.locator(".el-table__row", has=link)
    expect(row.locator("[data-status]")).to_have_text("online")
    link.click()

    expect(page).to_have_url(f"{ui_server.url}/nodes/{local_agent['id']}")
    expect(page.get_by_test_id("node-name")).to_have_text("e2e-local")
    expect(page.get_by_test_id("inv-hostname")).to_have_text(local_agent["hostname"])
    # Initial window from the metrics API, then samples appended from the node's stream topic.
    cpu = page.get_by_test_id("chart-cpu")
    expect(cpu).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    first = chart_points(page, "chart-cpu")
    wait_for(
        lambda: chart_points(page, "chart-cpu") > first,
        timeout=15,
        what="the CPU chart to grow from the live stream",
    )
    for chart in ("chart-memory", "chart-disk", "chart-network"):
        expect(page.get_by_test_id(chart)).to_have_attribute(
            "data-points", re.compile(r"^[1-9]\d*$")
        )
    expect(page.get_by_test_id("stream-state")).to_have_text("live")

    page.get_by_test_id("node-ping").click()
    expect(page.get_by_test_id("ping-result")).to_have_text(re.compile(r"RTT \d+\.\d ms"))
    screenshot(page, "ui-node-detail")

    # Per-node config: threshold checks off on this node, live, without a restart.
    intervals = page.get_by_test_id("node-intervals")
    expect(intervals).to_contain_text("threshold checks 0.25 s (0 rules)")
    page.get_by_test_id("node-edit-config").click()
    page.get_by_test_id("config-checks").locator("input").fill("0")
    page.get_by_test_id("config-save").click()
    expect(intervals).to_contain_text("threshold checks off")
    expect(intervals).to_contain_text("(overridden)")


def test_enrollment_token_shows_command_and_audit_entry(
    page: Page, ui_server: ServerProcess
) -> None:
    page.goto(f"{ui_server.url}/enrollment")
    login(page)
    expect(page).to_have_url(f"{ui_server.url}/enrollment")

    page.get_by_test_id("enroll-new").click()
    dialog = page.get_by_test_id("enroll-create-dialog")
    dialog.get_by_test_id("enroll-name").fill("rack-4")
    dialog.get_by_test_id("enroll-max-uses").locator("input").fill("3")
    dialog.get_by_test_id("label-add").click()
    dialog.get_by_test_id("label-key").fill("env")
    dialog.get_by_test_id("label-value").fill("ci")
    dialog.get_by_test_id("enroll-submit").click()

    token = page.get_by_test_id("enroll-token")
    expect(token).to_have_text(re.compile(r"^\S{16,}$"))
    command = page.get_by_test_id("enroll-command")
    expect(command).to_have_text(
        f"opsplane agent --server {ui_server.url} --enroll {token.inner_text()}"
    )
    table = page.get_by_test_id("enroll-table")
    row = table.locator(".el-table__row", has_text="rack-4")
    expect(row).to_contain_text("0 / 3")
    expect(row).to_contain_text("env=ci")
    expect(row.locator("[data-status]")).to_have_text("active")
    screenshot(page, "ui-enrollment")

    page.get_by_test_id("nav-audit").click()
    expect(page).to_have_url(f"{ui_server.url}/audit")
    entry = (
        page.locator(".el-table__row")
        .filter(has_text="enrollment_token.create")
        .filter(has_text="rack-4")
    )
    expect(entry).to_contain_text("admin")
    entry.locator(".el-table__expand-icon").click()
    diff = page.get_by_test_id("audit-diff").first
    expect(diff).to_contain_text("rack-4")
    expect(diff).to_contain_text('{"env":"ci"}')
    screenshot(page, "ui-audit")


def test_viewer_sees_only_what_the_role_allows(page: Page, ui_server: ServerProcess) -> None:
    with ui_server.client() as client:
        client.post(
            "/api/v1/users",
            json={"username": "vera", "password": "vera-password-1", "role": "viewer"},
        ).raise_for_status()
    page.goto(f"{ui_server.url}/")
    login(page, "vera", "vera-password-1")
    expect(page.get_by_test_id("current-role")).to_have_text("viewer")
    expect(page.get_by_test_id("nav-nodes")).to_be_visible()
    for hidden in ("nav-enrollment", "nav-users", "nav-audit"):
        expect(page.get_by_test_id(hidden)).to_have_count(0)
    page.goto(f"{ui_server.url}/audit")
    expect(page.get_by_test_id("fleet-overview")).to_be_visible()

    page.get_by_test_id("logout").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto(f"{ui_server.url}/nodes")
    expect(page).to_have_url(re.compile(r"/login\?redirect=/nodes$"))
