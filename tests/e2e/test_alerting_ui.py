"""Metrics and alerting pages in real Chromium, against a real server and a real local agent.

A threshold rule built in the UI's rule builder on an agent metric fires, shows up as an
active alert (and in the navigation's firing count) and is acknowledged from the UI (who and
when checked through the API), then is edited in the builder again; rule health shows a rule
that fails; "try an alert" on the routing page asks the server's routing; the metrics
explorer completes, runs and draws a query and shows Prometheus's errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import login, screenshot
from tests.e2e.fleet import online_agent
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

NODE = "e2e-alerts"
RULE = "E2EMemoryPresent"
# Alerts need the rule to fire (fast path: the next 1 s sample) and the page to re-read (5 s).
FIRING_TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def agent_node(
    ui_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """One real agent for the module: its host metrics arrive every second."""
    state_dir: Path = tmp_path_factory.mktemp("alerting") / "agent"
    with online_agent(ui_server, state_dir, NODE) as node:
        yield node


def row_with(page: Page, testid: str) -> Locator:
    """The table row holding the element with `testid`."""
    return page.locator(".el-table__row", has=page.get_by_test_id(testid))


def build_threshold_rule(page: Page) -> None:
    """Fill the rule builder: memory of our node > 0, for 0s, through the UI's own pickers."""
    page.get_by_test_id("rule-new-threshold").click()
    dialog = page.get_by_test_id("threshold-dialog")
    dialog.get_by_test_id("threshold-name").fill(RULE)

    metric = dialog.get_by_test_id("threshold-metric")
    metric.fill("host_memory_tot")
    suggestion = page.locator(".el-autocomplete-suggestion li", has_text="host_memory_total_bytes")
    suggestion.first.click()
    expect(metric).to_have_value("host_memory_total_bytes")

    dialog.get_by_test_id("threshold-nodes").click()
    page.locator(".el-select-dropdown__item:visible", has_text=NODE).click()
    dialog.get_by_test_id("threshold-name").click()  # close the node list

    dialog.get_by_test_id("threshold-value").locator("input").fill("0")
    dialog.get_by_test_id("threshold-for").fill("0s")

    # The preview: compiled PromQL, fast path, and that it holds for our node right now.
    expect(dialog.get_by_test_id("threshold-expr")).to_have_text(
        f'host_memory_total_bytes{{node="{NODE}"}} > 0'
    )
    expect(dialog.get_by_test_id("threshold-preview")).to_contain_text("fast path")
    expect(dialog.get_by_test_id("threshold-matched")).to_have_text("scope matches 1 series")
    expect(dialog.get_by_test_id("threshold-firing")).to_contain_text("1 past the threshold now")
    dialog.get_by_test_id("threshold-submit").click()
    expect(dialog).to_be_hidden()


def test_threshold_rule_built_in_the_ui_fires_and_is_acknowledged(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    page.goto(f"{ui_server.url}/alerts/rules")
    login(page)
    expect(page).to_have_url(f"{ui_server.url}/alerts/rules")

    build_threshold_rule(page)
    expect(page.get_by_test_id(f"rule-row-{RULE}")).to_be_visible()
    rule_state = page.get_by_test_id(f"rule-state-{RULE}").locator("[data-status]")
    expect(rule_state).to_have_text("firing", timeout=FIRING_TIMEOUT_MS)
    expect(row_with(page, f"rule-row-{RULE}")).to_contain_text("fast path")
    screenshot(page, "ui-alert-rules")

    page.locator("#tab-alerts").click()
    expect(page).to_have_url(f"{ui_server.url}/alerts")
    alert_row = row_with(page, f"alert-row-{RULE}")
    expect(alert_row.get_by_test_id("alert-state")).to_have_text(
        "firing", timeout=FIRING_TIMEOUT_MS
    )
    expect(alert_row).to_contain_text(f"node={NODE}")
    # Counts from the live summary: the navigation's firing badge, the open incidents.
    expect(page.get_by_test_id("nav-alerts-firing")).to_have_text("1")
    expect(page.get_by_test_id("open-incident-count")).to_have_text("(1)")

    with ui_server.client() as client:
        alerts = client.get("/api/v1/alerts", params={"state": "firing", "search": RULE}).json()[
            "items"
        ]
        assert [a["labels"]["node"] for a in alerts] == [NODE]
        incident_id = alerts[0]["incident_id"]
        assert incident_id is not None
        before_ack = datetime.now(UTC)

        alert_row.get_by_role("button", name="Ack").click()
        expect(page.get_by_test_id(f"incident-state-{incident_id}")).to_have_text("acknowledged")
        expect(page.get_by_test_id(f"incident-acked-{incident_id}")).to_contain_text("by admin")
        screenshot(page, "ui-alert-acknowledged")

        incident = client.get(f"/api/v1/incidents/{incident_id}").json()
        assert incident["state"] == "acknowledged"
        assert incident["acknowledged_by"] == "admin"
        acked_at = datetime.fromisoformat(incident["acknowledged_at"])
        assert before_ack - timedelta(seconds=2) <= acked_at <= datetime.now(UTC)
        events = client.get(f"/api/v1/incidents/{incident_id}/events").json()["items"]
        assert [(e["kind"], e["actor"]) for e in events if e["kind"] == "acknowledged"] == [
            ("acknowledged", "admin")
        ]

    # The incident page: who acknowledged it, and the timeline.
    page.get_by_test_id(f"incident-link-{incident_id}").click()
    expect(page.get_by_test_id("incident-state")).to_have_text("acknowledged")
    expect(page.get_by_test_id("incident-acked")).to_contain_text("by admin")
    timeline = page.get_by_test_id("incident-timeline")
    expect(timeline).to_contain_text("opened")
    expect(timeline).to_contain_text("acknowledged by admin")
    screenshot(page, "ui-incident")

    # The history names each alert and shows its labels, without reading alerts one by one.
    alert_reads: list[str] = []
    page.on(
        "request",
        lambda r: alert_reads.append(r.url) if re.search(r"/api/v1/alerts/\d+", r.url) else None,
    )
    page.locator("#tab-alert-history").click()
    expect(page.get_by_test_id("history-table")).to_contain_text(RULE)
    expect(page.get_by_test_id("history-table")).to_contain_text(f"node={NODE}")
    assert alert_reads == []


def test_builder_rule_is_edited_in_the_builder(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    """The rule from the first test opens in the builder, filled in; saving recompiles it in
    place: same rule, its firing alert carries over."""
    with ui_server.client() as client:
        [rule] = client.get("/api/v1/alerts/rules", params={"search": RULE}).json()["items"]
        [alert] = client.get("/api/v1/alerts", params={"state": "firing", "search": RULE}).json()[
            "items"
        ]
    page.goto(f"{ui_server.url}/alerts/rules")
    login(page)
    page.get_by_test_id(f"rule-edit-{RULE}").click()
    dialog = page.get_by_test_id("threshold-dialog")
    expect(dialog).to_contain_text(f"Edit threshold rule {RULE}")
    expect(dialog.get_by_test_id("threshold-name")).to_have_value(RULE)
    expect(dialog.get_by_test_id("threshold-metric")).to_have_value("host_memory_total_bytes")
    expect(dialog.get_by_test_id("threshold-value").locator("input")).to_have_value("0")
    expect(dialog.get_by_test_id("threshold-nodes")).to_contain_text(NODE)

    dialog.get_by_test_id("threshold-value").locator("input").fill("1")
    dialog.get_by_test_id("threshold-value").locator("input").press("Tab")
    expected = f'host_memory_total_bytes{{node="{NODE}"}} > 1'
    expect(dialog.get_by_test_id("threshold-expr")).to_have_text(expected)
    dialog.get_by_test_id("threshold-submit").click()
    expect(dialog).to_be_hidden()
    expect(row_with(page, f"rule-row-{RULE}")).to_contain_text(expected)

    with ui_server.client() as client:
        [after] = client.get("/api/v1/alerts/rules", params={"search": RULE}).json()["items"]
        assert (after["id"], after["expr"], after["builder"]["threshold"]) == (
            rule["id"],
            expected,
            1,
        )
        firing = client.get("/api/v1/alerts", params={"state": "firing", "search": RULE}).json()
        assert [a["id"] for a in firing["items"]] == [alert["id"]]


def test_rule_health_shows_and_a_failing_rule_stands_out(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    broken = "E2EBrokenRule"
    with ui_server.client() as client:
        client.post("/api/v1/alerts/rule-groups", json={"name": "e2e-fast", "interval": "1s"})
        created = client.post(
            "/api/v1/alerts/rules",
            json={"name": broken, "expr": "host_load1[1m]", "group": "e2e-fast"},
        )
        created.raise_for_status()
    page.goto(f"{ui_server.url}/alerts/rules")
    login(page)
    # Pushed by the stream when the health changes; no reload.
    health = page.get_by_test_id(f"rule-health-{broken}").locator("[data-status]")
    expect(health).to_have_text("error", timeout=FIRING_TIMEOUT_MS)
    expect(page.get_by_test_id(f"rule-error-{broken}")).to_contain_text("needs a vector")
    expect(page.get_by_test_id("rules-failing")).to_contain_text(broken)
    expect(page.get_by_test_id("tab-count-alert-rules")).to_have_text("1")
    # The builder rule's group ticks every 15 s: its first evaluation makes it "ok".
    ok = page.get_by_test_id(f"rule-health-{RULE}").locator("[data-status]")
    expect(ok).to_have_text("ok", timeout=FIRING_TIMEOUT_MS)
    screenshot(page, "ui-alert-rule-health")

    with ui_server.client() as client:
        client.delete(f"/api/v1/alerts/rules/{created.json()['id']}").raise_for_status()
    expect(page.get_by_test_id("rules-failing")).to_have_count(0)
    expect(page.get_by_test_id(f"rule-row-{broken}")).to_have_count(0)


def test_recording_rule_is_created_disabled_and_deleted_in_the_ui(
    page: Page, ui_server: ServerProcess
) -> None:
    record = "job:up:sum"
    expr = "sum by (job) (up)"
    page.goto(f"{ui_server.url}/alerts/rules")
    login(page)
    card = page.get_by_test_id("recording-card")
    expect(card).to_contain_text("Recording rules")

    card.get_by_test_id("recording-new").click()
    dialog = page.get_by_test_id("recording-dialog")
    dialog.get_by_test_id("recording-record").fill(record)
    dialog.get_by_test_id("recording-expr").fill(expr)
    expect(dialog.get_by_test_id("recording-group")).to_contain_text("default")
    dialog.get_by_test_id("recording-save").click()
    expect(dialog).to_be_hidden()

    row = row_with(page, f"recording-row-{record}")
    expect(row).to_contain_text(expr)
    expect(row).to_contain_text("default")
    # Not evaluated yet, or its group has ticked since: never an error.
    health = page.get_by_test_id(f"recording-health-{record}").locator("[data-status]")
    expect(health).to_have_text(re.compile(r"^(unknown|ok)$"))
    switch = page.get_by_test_id(f"recording-enabled-{record}").locator("input")
    expect(switch).to_be_checked()
    screenshot(page, "ui-recording-rules")

    with ui_server.client() as client:
        [created] = [
            r for r in client.get("/api/v1/alerts/recording-rules").json() if r["record"] == record
        ]
        assert (created["expr"], created["group"], created["enabled"], created["created_by"]) == (
            expr,
            "default",
            True,
            "admin",
        )

    page.get_by_test_id(f"recording-enabled-{record}").click()
    expect(switch).not_to_be_checked()
    with ui_server.client() as client:
        after = client.get(f"/api/v1/alerts/recording-rules/{created['id']}").json()
        assert after["enabled"] is False
    # Still disabled when the page reads the list again.
    page.reload()
    expect(page.get_by_test_id(f"recording-enabled-{record}").locator("input")).not_to_be_checked()

    page.get_by_test_id(f"recording-delete-{record}").click()
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(record)
    box.get_by_role("button", name="Delete").click()
    expect(box).to_be_hidden()
    expect(page.get_by_test_id(f"recording-row-{record}")).to_have_count(0)
    expect(page.get_by_test_id("recording-card")).to_contain_text("No recording rules")
    with ui_server.client() as client:
        assert client.get(f"/api/v1/alerts/recording-rules/{created['id']}").status_code == 404


def test_routing_try_an_alert_asks_the_server(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    with ui_server.client() as client:
        ids = {}
        for name in ("e2e-ops", "e2e-db"):
            channel = client.post(
                "/api/v1/alerts/channels",
                json={
                    "name": name,
                    "type": "webhook",
                    "url": "http://127.0.0.1:9/",
                    "is_default": False,
                },
            )
            channel.raise_for_status()
            ids[name] = channel.json()["id"]
        tree = {
            "receivers": [ids["e2e-ops"]],
            "routes": [
                {"matchers": [{"name": "team", "value": "db"}], "receivers": [ids["e2e-db"]]}
            ],
        }
        client.put("/api/v1/alerts/routes", json=tree).raise_for_status()
    page.goto(f"{ui_server.url}/alerts/routing")
    login(page)
    labels = page.get_by_test_id("routing-try")
    result = page.get_by_test_id("routing-try-result")
    labels.fill("alertname=DiskFull team=db severity=critical")
    expect(result).to_have_text("route 1 → e2e-db")
    expect(page.get_by_test_id("route-root.0")).to_have_class(re.compile(r"\bhit\b"))
    labels.fill("alertname=DiskFull severity=critical")
    expect(result).to_have_text("the root → e2e-ops")

    # An edit not saved yet: a new child route (severity=critical, inheriting the receivers).
    page.get_by_test_id("route-root").get_by_test_id("route-add").last.click()
    expect(page.get_by_test_id("routing-page")).to_contain_text("with your unsaved changes")
    expect(result).to_have_text("route 2 → e2e-ops")
    expect(page.get_by_test_id("route-root.1")).to_have_class(re.compile(r"\bhit\b"))
    screenshot(page, "ui-alert-routing-try")
    with ui_server.client() as client:
        assert len(client.get("/api/v1/alerts/routes").json()["routes"]) == 1  # not saved


def test_metrics_explorer_completes_runs_and_draws_a_query(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    page.goto(f"{ui_server.url}/explore")
    login(page)
    expect(page).to_have_url(f"{ui_server.url}/explore")

    # Type with completion: metric name, then the label, then its value.
    box = page.get_by_test_id("promql-input")
    box.click()
    box.press_sequentially("host_memory_tot", delay=20)
    suggestions = page.get_by_test_id("promql-suggestion")
    expect(suggestions.first).to_contain_text("host_memory_total_bytes")
    box.press("Enter")
    box.press_sequentially("{no", delay=20)
    expect(suggestions.first).to_contain_text("node")
    box.press("Tab")  # node="" with the cursor between the quotes; its values follow
    expect(suggestions.filter(has_text=NODE)).to_have_count(1)
    suggestions.filter(has_text=NODE).click()
    box.press("End")
    box.press_sequentially("}", delay=20)
    expect(box).to_have_value(f'host_memory_total_bytes{{node="{NODE}"}}')
    box.press("Enter")

    # Range query (the default): one line for our node; the URL holds the query.
    chart = page.get_by_test_id("query-chart")
    expect(chart).to_have_attribute("data-series", "1")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    expect(page.get_by_test_id("query-legend-item")).to_contain_text(f'node="{NODE}"')
    expect(page.get_by_test_id("metrics-summary")).to_contain_text("matrix · 1 series")
    expect(page).to_have_url(re.compile(r"/explore\?q=host_memory_total_bytes.*&mode=range"))
    screenshot(page, "ui-metrics-explorer")

    # The shared URL runs the same query on its own.
    shared = page.url
    page.goto(f"{ui_server.url}/")
    page.goto(shared)
    expect(page.get_by_test_id("query-chart")).to_have_attribute("data-series", "1")

    # Instant query, table view.
    page.get_by_test_id("metrics-mode-instant").click()
    page.get_by_role("tab", name=re.compile(r"^Table")).click()
    expect(page.get_by_test_id("metrics-summary")).to_contain_text("vector · 1 series")
    expect(page.get_by_test_id("query-row")).to_contain_text(f'node="{NODE}"')

    # A broken expression: Prometheus's error type and message, no stale result.
    box.fill("sum(rate(host_cpu_utilization_ratio[1m])")
    page.get_by_test_id("metrics-run").click()
    error = page.get_by_test_id("metrics-error")
    expect(error).to_contain_text("bad_data")
    expect(page.get_by_test_id("metrics-error-message")).to_contain_text("parse error")
    expect(page.get_by_test_id("query-table")).to_have_count(0)
    screenshot(page, "ui-metrics-error")


def test_viewer_reads_alerting_but_cannot_change_it(
    page: Page, ui_server: ServerProcess, agent_node: dict[str, Any]
) -> None:
    with ui_server.client() as client:
        client.post(
            "/api/v1/users",
            json={"username": "val", "password": "val-password-1", "role": "viewer"},
        ).raise_for_status()
        client.post(
            "/api/v1/alerts/rules",
            json={"name": "ViewerSeesThis", "expr": "host_load1 < 0", "for": "1m"},
        ).raise_for_status()
    page.goto(f"{ui_server.url}/alerts/rules")
    login(page, "val", "val-password-1")
    expect(page.get_by_test_id("rule-row-ViewerSeesThis")).to_be_visible()
    for hidden in (
        "rule-new-threshold",
        "rule-new-promql",
        "rule-import",
        "rule-edit-ViewerSeesThis",
        "recording-new",
    ):
        expect(page.get_by_test_id(hidden)).to_have_count(0)
    expect(page.get_by_test_id("rule-export")).to_be_visible()
    expect(page.get_by_test_id("recording-card")).to_be_visible()
    expect(page.get_by_test_id("rule-enabled-ViewerSeesThis").locator("input")).to_be_disabled()

    page.locator("#tab-silences").click()
    expect(page.get_by_test_id("silences-page")).to_be_visible()
    expect(page.get_by_test_id("silence-new")).to_have_count(0)
    page.locator("#tab-channels").click()
    expect(page.get_by_test_id("channel-new")).to_have_count(0)
    page.locator("#tab-routing").click()
    expect(page.get_by_test_id("routing-page")).to_contain_text("read-only")
    expect(page.get_by_test_id("routing-save")).to_have_count(0)
    # Viewers try alerts too (against the saved tree).
    page.get_by_test_id("routing-try").fill("alertname=X team=db")
    expect(page.get_by_test_id("routing-try-result")).to_contain_text(" → ")
