"""Heap-dump pages in real Chromium, against a real server and real HPROF dumps.

Two dumps go in through the external-watcher path (`POST /api/v1/files/notify`, then the
upload API): a dump written by a real JVM, which the built-in analyzer takes to `analyzed`,
and its first 64 KiB (what a JVM killed mid-write leaves), whose analysis fails. The UI then
filters the file list by status, exports it, opens each file's timeline, opens the report
through its signed link (also from a browser with no session), issues a new link, and retries
the failed analysis; a viewer sees the same pages without the buttons that change anything.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import login, screenshot
from tests.e2e.dumps import real_dump, upload_dump, wait_for_status
from tests.support.processes import ServerProcess

pytestmark = pytest.mark.e2e

GOOD_PATH = "/data/dumps/prod/checkout/java_pid4242.hprof"
BAD_PATH = "/data/dumps/prod/billing/java_pid77.hprof"
TRUNCATED_BYTES = 64 * 1024
STEPS = ("upload", "analysis", "ai_analysis", "report")
# A retried analysis of the truncated dump: a worker process start plus the parse.
RETRY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Dumps:
    analyzed: dict[str, Any]
    failed: dict[str, Any]


@pytest.fixture(scope="module")
def dumps_server(
    tmp_path_factory: pytest.TempPathFactory, web_built: None
) -> Iterator[ServerProcess]:
    """A real server; automatic retries wait an hour, so no file changes state on its own
    while the tests look at it."""
    server = ServerProcess(
        tmp_path_factory.mktemp("dumps-ui") / "server",
        env={"OPSPLANE_DUMPS_RETRY_BASE_DELAY": "3600"},
    )
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def dumps(dumps_server: ServerProcess) -> Dumps:
    client = dumps_server.client()
    data = real_dump()
    good = upload_dump(
        client, data, node="e2e-dumps-01", path=GOOD_PATH, app="checkout", namespace="prod"
    )
    bad = upload_dump(
        client,
        data[:TRUNCATED_BYTES],
        node="e2e-dumps-02",
        path=BAD_PATH,
        app="billing",
        namespace="prod",
    )
    analyzed = wait_for_status(client, good, "analyzed", "failed")
    failed = wait_for_status(client, bad, "analyzed", "failed")
    assert analyzed["status"] == "analyzed", analyzed
    assert failed["status"] == "failed", failed
    return Dumps(analyzed, failed)


def pick_status(page: Page, *states: str) -> None:
    """Toggle states in the status filter (a multi-select), then close its list."""
    page.get_by_test_id("dump-status-filter").click()
    for state in states:
        page.locator(".el-select-dropdown__item:visible", has_text=re.compile(f"^{state}$")).click()
    page.keyboard.press("Escape")


def confirm(page: Page, expected: str, button: str) -> None:
    box = page.locator(".el-message-box")
    expect(box).to_contain_text(expected)
    box.get_by_role("button", name=button).click()
    expect(box).to_be_hidden()


def test_dashboard_shows_todays_dumps_failures_and_top_apps(
    page: Page, dumps_server: ServerProcess, dumps: Dumps
) -> None:
    page.goto(f"{dumps_server.url}/dumps")
    login(page)
    expect(page.get_by_test_id("nav-dumps")).to_have_text("Heap dumps")
    expect(page.get_by_test_id("dumps-state-analyzed")).to_contain_text(re.compile(r"[1-9]"))
    expect(page.get_by_test_id("dumps-state-failed")).to_contain_text(re.compile(r"[1-9]"))
    top = page.get_by_test_id("dumps-top-apps")
    expect(top).to_contain_text("checkout")
    expect(top).to_contain_text("billing")
    expect(page.get_by_test_id("dumps-daily-chart")).to_have_attribute(
        "data-total", re.compile(r"^[1-9]\d*$")
    )
    expect(page.get_by_test_id("dumps-mean-time")).not_to_contain_text("–")
    screenshot(page, "ui-dumps-dashboard")

    # A state links to the file list filtered by it.
    page.get_by_test_id("dumps-state-failed").click()
    expect(page).to_have_url(re.compile(r"/dumps/files\?status=failed$"))
    expect(page.get_by_test_id(f"dump-link-{dumps.failed['id']}")).to_be_visible()
    expect(page.get_by_test_id(f"dump-link-{dumps.analyzed['id']}")).to_have_count(0)


def test_file_list_filters_by_status_and_opens_timeline_and_report(
    page: Page, browser: Browser, dumps_server: ServerProcess, dumps: Dumps, tmp_path: Path
) -> None:
    good, bad = dumps.analyzed, dumps.failed
    page.goto(f"{dumps_server.url}/dumps/files")
    login(page)
    good_link = page.get_by_test_id(f"dump-link-{good['id']}")
    bad_link = page.get_by_test_id(f"dump-link-{bad['id']}")
    expect(good_link).to_be_visible()
    expect(bad_link).to_be_visible()

    pick_status(page, "failed")
    expect(good_link).to_have_count(0)
    expect(bad_link).to_be_visible()
    expect(page.get_by_test_id(f"dump-status-{bad['id']}")).to_have_text("failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    screenshot(page, "ui-dumps-files-failed")

    pick_status(page, "failed", "analyzed")  # failed off, analyzed on
    expect(bad_link).to_have_count(0)
    expect(good_link).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=analyzed"))

    # The CSV export carries the same filter.
    with page.expect_download() as download_info:
        page.get_by_test_id("dump-export").click()
    saved = tmp_path / "files.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert [(r["file_name"], r["status"]) for r in rows] == [("java_pid4242.hprof", "analyzed")]

    # The timeline: four steps, each a success with its duration.
    good_link.click()
    expect(page).to_have_url(f"{dumps_server.url}/dumps/files/{good['id']}")
    expect(page.get_by_test_id("dump-file-status")).to_have_text("analyzed")
    for step in STEPS:
        expect(page.get_by_test_id(f"dump-step-{step}").locator("[data-status]")).to_have_text(
            "success"
        )
    timeline = page.get_by_test_id("dump-timeline")
    expect(timeline.locator("[data-testid^=dump-attempt-]")).to_have_count(len(good["processing"]))
    expect(timeline).to_contain_text("builtin")

    # Leak suspects and summary as the API has them.
    first = good["report"]["leak_suspects"][0]
    expect(page.get_by_test_id("dump-suspect-0")).to_have_text(first["class"])
    expect(page.get_by_test_id("dump-summary")).to_contain_text(first["class"])
    expect(page.get_by_test_id("dump-summary-source")).to_have_text("deterministic")
    page.get_by_test_id("dump-suspects").locator(".el-table__expand-icon").first.click()
    path_to_root = page.get_by_test_id("dump-suspect-path").first
    expect(path_to_root).to_contain_text(first["path_to_root"][-1]["label"])
    expect(page.get_by_test_id("dump-report-access")).to_contain_text("0 time(s)")
    screenshot(page, "ui-dump-timeline")

    # "Open report": the signed link in a new tab.
    with page.context.expect_page() as popup_info:
        page.get_by_test_id("dump-report-open").click()
    report = popup_info.value
    report.wait_for_load_state()
    assert "/api/v1/reports/" in report.url
    expect(report.locator("#opsplane-summary")).to_contain_text(first["class"])
    screenshot(report, "ui-dump-report")
    report.close()

    page.reload()
    expect(page.get_by_test_id("dump-report-access")).to_contain_text("1 time(s)")
    client = dumps_server.client()
    link = client.get(f"/api/v1/reports/{good['id']}").json()
    assert link["access_count"] == 1

    # The link needs no session: a browser that never logged in reads the report.
    stranger = browser.new_context()
    try:
        anonymous = stranger.new_page()
        response = anonymous.goto(link["url"])
        assert response is not None
        assert response.status == 200
        expect(anonymous.locator("body")).to_contain_text(first["class"])
    finally:
        stranger.close()

    # "Refresh link": a new link works, the old one stops at once.
    page.get_by_test_id("dump-report-refresh").click()
    confirm(page, "stops working at once", "New link")
    expect(page.get_by_test_id("dump-report-open")).not_to_have_attribute("href", link["url"])
    fresh = client.get(f"/api/v1/reports/{good['id']}").json()
    assert fresh["url"] != link["url"]
    with httpx.Client(timeout=30) as anonymous_http:
        old = anonymous_http.get(link["url"])
        assert old.status_code == 403
        assert old.json()["error"]["code"] == "link_invalid"
        assert first["class"] in anonymous_http.get(fresh["url"]).text


def test_failed_file_shows_where_it_failed_and_is_retried(
    page: Page, dumps_server: ServerProcess, dumps: Dumps
) -> None:
    bad = dumps.failed
    page.goto(f"{dumps_server.url}/dumps/files?status=failed")
    login(page)
    expect(page).to_have_url(f"{dumps_server.url}/dumps/files?status=failed")
    page.get_by_test_id(f"dump-link-{bad['id']}").click()

    expect(page.get_by_test_id("dump-file-status")).to_have_text("failed")
    expect(page.get_by_test_id("dump-file-error")).to_contain_text(bad["error"])
    analysis = page.get_by_test_id("dump-step-analysis")
    expect(analysis.locator("[data-status]")).to_have_text("failed")
    expect(analysis).to_contain_text("truncated")
    expect(page.get_by_test_id("dump-step-report").locator("[data-status]")).to_have_text(
        "not started"
    )
    expect(page.get_by_test_id("dump-no-report")).to_be_visible()
    retries = page.get_by_test_id("dump-retries")
    expect(retries).to_contain_text("automatic")  # the automatic retry, waiting (an hour here)
    expect(retries).to_contain_text("pending")

    # A manual retry names what it redoes, then the timeline has the second attempt.
    retry = page.get_by_test_id("dump-retry")
    expect(retry).to_contain_text("Retry analysis")
    retry.click()
    confirm(page, "Run the analysis of java_pid77.hprof again from the stored", "Retry analysis")
    expect(analysis).to_contain_text("2 attempts", timeout=RETRY_TIMEOUT_MS)
    expect(analysis.locator("[data-status]")).to_have_text("failed", timeout=RETRY_TIMEOUT_MS)
    expect(retries).to_contain_text("manual, by admin")
    screenshot(page, "ui-dump-failed")

    detail = dumps_server.client().get(f"/api/v1/files/{bad['id']}").json()
    attempts = [(p["step"], p["status"]) for p in detail["processing"] if p["step"] == "analysis"]
    assert attempts == [("analysis", "failed"), ("analysis", "failed")]
    manual = [r for r in detail["retries"] if r["manual"]]
    assert [(r["retry_type"], r["requested_by"]) for r in manual] == [("analysis", "admin")]

    # Batch retry from the list: tick the row, retry, the server answers per file.
    page.get_by_test_id("dump-file-page").get_by_role("link", name="Files /").click()
    row = page.locator(".el-table__row", has=page.get_by_test_id(f"dump-link-{bad['id']}"))
    row.locator(".el-checkbox").click()
    page.get_by_test_id("dump-retry-selected").click()
    confirm(page, "Retry 1 file(s)?", "Retry 1")
    # (the manual retry's own message may still be showing above it)
    expect(page.locator(".el-message", has_text="1 of 1 retried")).to_be_visible()
    page.get_by_test_id(f"dump-link-{bad['id']}").click()
    expect(analysis).to_contain_text("3 attempts", timeout=RETRY_TIMEOUT_MS)

    # Retry management: the history across files has both manual retries.
    page.locator("#tab-dump-retries").click()
    history = page.get_by_test_id("dump-history-table")
    manual_rows = history.locator(".el-table__row", has_text="manual, by admin")
    expect(manual_rows).to_have_count(2)
    expect(manual_rows.first).to_contain_text("java_pid77.hprof")
    expect(page.get_by_test_id("dump-failed-table")).to_contain_text("java_pid77.hprof")
    screenshot(page, "ui-dumps-retries")


def test_open_upload_shows_how_far_it_got(page: Page, dumps_server: ServerProcess) -> None:
    data = real_dump()
    file_id = upload_dump(
        dumps_server.client(),
        data,
        node="e2e-dumps-03",
        path="/data/dumps/prod/search/java_pid5.hprof",
        app="search",
        namespace="prod",
        stop_at=512 * 1024,
    )
    page.goto(f"{dumps_server.url}/dumps/files/{file_id}")
    login(page)
    expect(page.get_by_test_id("dump-file-status")).to_have_text("uploading")
    expect(page.get_by_test_id("dump-upload-progress")).to_contain_text("512.0 KiB of 1.7 MiB")
    expect(page.get_by_test_id("dump-no-report")).to_be_visible()


def test_watch_rule_and_write_only_secret_from_the_settings_page(
    page: Page, dumps_server: ServerProcess, dumps: Dumps
) -> None:
    page.goto(f"{dumps_server.url}/dumps/settings")
    login(page)
    page.get_by_test_id("watch-rule-new").click()
    dialog = page.get_by_test_id("watch-rule-dialog")
    dialog.get_by_test_id("watch-rule-name").fill("e2e-oom")
    dialog.get_by_test_id("watch-rule-paths").fill("/data/dumps")
    dialog.get_by_test_id("watch-rule-template").fill("/data/dumps/{namespace}/{app}/*.hprof")
    dialog.get_by_test_id("watch-rule-scope").get_by_text("nodes with labels").click()
    dialog.get_by_test_id("label-add").click()
    dialog.get_by_test_id("label-key").fill("env")
    dialog.get_by_test_id("label-value").fill("prod")
    dialog.get_by_test_id("watch-rule-submit").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("watch-rule-row-e2e-oom")).to_be_visible()

    client = dumps_server.client()
    rules = client.get("/api/v1/dumps/watch-rules").json()
    rule = next(r for r in rules if r["name"] == "e2e-oom")
    assert rule["paths"] == ["/data/dumps"]
    assert rule["path_template"] == "/data/dumps/{namespace}/{app}/*.hprof"
    assert rule["labels"] == {"env": "prod"}
    assert rule["node_ids"] == []

    # The Jenkins token is write-only: after saving, the server says only that it is set.
    token = page.get_by_test_id("dump-settings-jenkins-token")
    token.fill("e2e-secret-token")
    page.get_by_test_id("dump-settings-save").click()
    expect(token).to_have_value("")
    expect(token).to_have_attribute("placeholder", "set (leave blank to keep)")
    settings = client.get("/api/v1/dumps/settings").json()
    assert settings["jenkins_token_set"] is True
    assert "e2e-secret-token" not in str(settings)
    screenshot(page, "ui-dumps-settings")


def test_viewer_reads_dumps_but_changes_nothing(
    page: Page, dumps_server: ServerProcess, dumps: Dumps
) -> None:
    client = dumps_server.client()
    client.post(
        "/api/v1/users", json={"username": "dora", "password": "dora-password-1", "role": "viewer"}
    ).raise_for_status()
    page.goto(f"{dumps_server.url}/dumps/files")
    login(page, "dora", "dora-password-1")
    expect(page.get_by_test_id(f"dump-link-{dumps.failed['id']}")).to_be_visible()
    expect(page.get_by_test_id("dump-retry-selected")).to_have_count(0)
    expect(page.locator(".el-table-column--selection")).to_have_count(0)
    expect(page.get_by_test_id("dump-export")).to_be_visible()

    page.get_by_test_id(f"dump-link-{dumps.failed['id']}").click()
    expect(page.get_by_test_id("dump-file-status")).to_have_text("failed")
    expect(page.get_by_test_id("dump-retry")).to_have_count(0)

    page.goto(f"{dumps_server.url}/dumps/files/{dumps.analyzed['id']}")
    expect(page.get_by_test_id("dump-report-open")).to_be_visible()
    expect(page.get_by_test_id("dump-report-refresh")).to_have_count(0)

    page.locator("#tab-dump-retries").click()
    expect(page.get_by_test_id("dump-retry-policy")).to_be_visible()
    expect(page.get_by_test_id("dump-retries-retry")).to_have_count(0)

    page.locator("#tab-dump-settings").click()
    expect(page.get_by_test_id("watch-rule-table")).to_be_visible()
    expect(page.get_by_test_id("watch-rule-new")).to_have_count(0)
    expect(page.get_by_test_id("dump-settings-save")).to_have_count(0)
    expect(page.get_by_test_id("dump-settings-jenkins-url")).to_be_disabled()
