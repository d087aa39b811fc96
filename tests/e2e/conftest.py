"""Real Chromium driven by Playwright against a real `opsplane server` serving the built UI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from opsplane.server.web import DIST
from tests.support.env import ARTIFACTS, require, require_binary
from tests.support.processes import ADMIN_PASSWORD, ServerProcess

# REAL-SERVERS.md: the Debian build, no Playwright download; the wrapper script prints a
# harmless shell error, the binary behind it does not.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_BEHIND_WRAPPER = Path("/usr/lib/chromium/chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    wrapper = require_binary("chromium")
    return str(CHROMIUM_BEHIND_WRAPPER) if CHROMIUM_BEHIND_WRAPPER.is_file() else wrapper


@pytest.fixture(scope="session")
def web_built() -> None:
    require((DIST / "index.html").is_file(), "the web UI is not built (run `make web`)")


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, web_built: None) -> Iterator[ServerProcess]:
    """One real `opsplane server` for the module's tests (as `server_process`: 1 s intervals).

    Starting a server costs seconds; the tests share it and keep out of each other's way by
    naming what they create.
    """
    server = ServerProcess(
        tmp_path_factory.mktemp("ui") / "server",
        env={"OPSPLANE_HEARTBEAT_INTERVAL": "1", "OPSPLANE_METRICS_INTERVAL": "1"},
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium_path: str, web_built: None) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class BrowserErrors:
    """JavaScript exceptions and console errors of a page (CSP violations show up here)."""

    # The app asks /auth/me before login: that 401 is expected and Chromium logs it.
    EXPECTED = re.compile(r"status of 401")
    # The Prometheus API answers a bad query with 400/422 (its envelope names the error): the
    # explorer and the rule dialogs show it, and check half-typed expressions as you type.
    QUERY_REFUSED = re.compile(r"status of 4(00|22)")
    QUERY_API = "/prometheus/api/v1/"

    def __init__(self) -> None:
        self.messages: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error" or self.EXPECTED.search(message.text):
            return
        refused = self.QUERY_REFUSED.search(message.text)
        if refused and self.QUERY_API in message.location.get("url", ""):
            return
        self.messages.append(f"console: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.messages.append(f"page error: {error}")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = BrowserErrors()
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_page_error)
    try:
        yield page
    finally:
        context.close()
    assert not errors.messages, "\n".join(errors.messages)


def login(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Fill the login form the page was sent to and submit it."""
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
