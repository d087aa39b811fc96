"""A real `opsplane server`: an agent's sample trips a threshold rule on the ingest fast path,
and a webhook, a real SMTP server (aiosmtpd), an Alertmanager-format receiver and a failing
endpoint (503, then 200) all get notified; every attempt is in the delivery log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.server.alerts.flip_agent import FlipAgent
from tests.server.alerts.receiver import Receiver
from tests.support.env import free_port
from tests.support.processes import ServerProcess, enrollment_token

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or b""))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    made = {"hook": Receiver(), "am": Receiver(), "flaky": Receiver(statuses=[503, 503])}
    for r in made.values():
        r.start()
    yield made
    for r in made.values():
        r.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "server",
        env={
            "OPSPLANE_ALERTS_RETRY_BASE_DELAY": "0.2",
            "OPSPLANE_ALERTS_GROUP_INTERVAL": "1",
            "OPSPLANE_PUBLIC_URL": "http://opsplane.test",
        },
    )
    process.start()
    yield process
    process.stop()


def _channels(
    client: httpx.Client, receivers: dict[str, Receiver], smtp_port: int
) -> dict[str, int]:
    bodies = {
        "hook": {
            "type": "webhook",
            "url": receivers["hook"].url + "/hook",
            "hmac_secret": "sign-me",
        },
        "am": {
            "type": "alertmanager",
            "url": receivers["am"].url + "/am",
            "bearer_token": "am-token",
        },
        "mail": {
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "from_addr": "opsplane@example.com",
            "to": ["oncall@example.com"],
        },
        "flaky": {"type": "webhook", "url": receivers["flaky"].url + "/flaky"},
    }
    ids = {}
    for name, body in bodies.items():
        response = client.post("/api/v1/alerts/channels", json={"name": name, **body})
        assert response.status_code == 201, response.text
        ids[name] = response.json()["id"]
    return ids


async def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(what)


async def test_fast_path_rule_notifies_every_channel_kind(
    server: ServerProcess, receivers: dict[str, Receiver], smtp: tuple[Inbox, int]
) -> None:
    inbox, smtp_port = smtp
    with server.client() as client:
        ids = _channels(client, receivers, smtp_port)
        rule = client.post(
            "/api/v1/alerts/rules/threshold",
            json={
                "name": "FlipHigh",
                "metric": "flip_value",
                "operator": ">",
                "threshold": 0,
                "severity": "critical",
            },
        ).json()
        assert rule["fast_path"] is True
        token = enrollment_token(client)
    agent = await FlipAgent(server.url, token, "flip-host").start()
    try:
        agent.set("flip_value", 0)
        await agent.push()
        await asyncio.sleep(0.5)
        assert not receivers["hook"].requests
        agent.set("flip_value", 1)
        await agent.push()
        # How fast is bench/alerting.py's business; here only that it is delivered.
        await _wait(lambda: receivers["hook"].requests, 10, "webhook")
        await _wait(lambda: receivers["am"].requests and inbox.messages, 10, "am and email")
        await _wait(lambda: len(receivers["flaky"].requests) >= 3, 15, "flaky retried")
        agent.set("flip_value", 0)
        await agent.push()
        await _wait(lambda: len(receivers["hook"].requests) >= 2, 10, "resolved webhook")
    finally:
        await agent.close()

    first = receivers["hook"].requests[0]
    body = first.json()
    assert body["status"] == "firing"
    assert body["alerts"][0]["labels"]["node"] == "flip-host"
    assert first.headers["x-opsplane-signature"].startswith("sha256=")
    assert receivers["hook"].requests[1].json()["status"] == "resolved"
    am = receivers["am"].requests[0]
    assert am.headers["authorization"] == "Bearer am-token"
    am_body = am.json()
    assert am_body["version"] == "4"
    assert am_body["receiver"] == "am"
    assert am_body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert am_body["externalURL"] == "http://opsplane.test"
    mail = inbox.messages[0]
    assert mail["Subject"] == "[FIRING:1] FlipHigh"
    assert mail["To"] == "oncall@example.com"
    assert "http://opsplane.test/incidents/" in str(mail.get_payload())

    with server.client() as client:
        log = client.get(
            "/api/v1/alerts/deliveries", params={"channel_id": ids["flaky"], "limit": 20}
        ).json()["items"]
        first_notification = [d for d in log if d["notification_id"] == log[-1]["notification_id"]][
            ::-1
        ]
        assert [(d["attempt"], d["status"], d["http_status"]) for d in first_notification] == [
            (1, "retrying", 503),
            (2, "retrying", 503),
            (3, "ok", 200),
        ]
        assert all(d["latency_ms"] > 0 for d in first_notification)
        mail_log = client.get(
            "/api/v1/alerts/deliveries", params={"channel_id": ids["mail"]}
        ).json()["items"]
        assert mail_log[-1]["status"] == "ok"
        test = client.post(f"/api/v1/alerts/channels/{ids['mail']}/test").json()
        assert test["ok"] is True
        incidents = client.get("/api/v1/incidents").json()["items"]
        assert incidents[0]["state"] == "resolved"
    subjects = [str(m["Subject"]) for m in inbox.messages]
    assert "[TEST] [FIRING:1] OpsplaneTest" in subjects


def test_a_restart_neither_repeats_nor_drops_notifications(
    tmp_path: Path, receivers: dict[str, Receiver]
) -> None:
    hook = receivers["hook"]
    server = ServerProcess(tmp_path / "restart", env={"OPSPLANE_ALERTS_GROUP_INTERVAL": "1"})
    server.start()
    try:
        with server.client() as client:
            client.post(
                "/api/v1/alerts/channels", json={"name": "hook", "type": "webhook", "url": hook.url}
            ).raise_for_status()
            alert = {"status": "firing", "labels": {"alertname": "Disk"}, "fingerprint": "f1"}
            client.post(
                "/api/v1/alerts/alertmanager", json={"version": "4", "alerts": [alert]}
            ).raise_for_status()
        hook.wait(1)
        time.sleep(0.5)  # the notification log is written once the delivery succeeded
        server.stop()
        server.start()
        with server.client() as client:
            time.sleep(1.5)
            assert len(hook.requests) == 1  # not notified again after the restart
            client.post(
                "/api/v1/alerts/alertmanager",
                json={"version": "4", "alerts": [alert | {"status": "resolved"}]},
            ).raise_for_status()
        requests = hook.wait(2)
        assert requests[1].json()["status"] == "resolved"
    finally:
        server.stop()


async def test_scheduled_rule_through_the_servers_own_query_engine(
    server: ServerProcess, receivers: dict[str, Receiver]
) -> None:
    """A rule the fast path cannot take (an aggregation) fires and resolves on its group's
    tick, queried through the server's QueryBackend over what the agent pushed."""
    hook = receivers["hook"]
    with server.client() as client:
        client.post(
            "/api/v1/alerts/channels", json={"name": "hook", "type": "webhook", "url": hook.url}
        ).raise_for_status()
        client.post(
            "/api/v1/alerts/rule-groups", json={"name": "quick", "interval": "1s"}
        ).raise_for_status()
        rule = client.post(
            "/api/v1/alerts/rules",
            json={
                "name": "BusyNode",
                "expr": "sum by (node) (busy_workers) > 3",
                "group": "quick",
                "annotations": {"summary": "{{ $labels.node }} has {{ $value }} busy workers"},
            },
        )
        assert rule.status_code == 201, rule.text
        assert rule.json()["fast_path"] is False
        token = enrollment_token(client)
    agent = await FlipAgent(server.url, token, "worker-host").start()
    agent.set("busy_workers", 1, pool="a")
    agent.set("busy_workers", 1, pool="b")
    ticker = asyncio.create_task(agent.run_ticker(0.5))
    try:
        await asyncio.sleep(2)
        assert not hook.requests
        agent.set("busy_workers", 3, pool="b")
        await _wait(lambda: hook.requests, 15, "firing from the scheduled rule")
        agent.set("busy_workers", 0, pool="b")
        await _wait(lambda: len(hook.requests) >= 2, 15, "resolved")
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        await agent.close()
    firing, resolved = (r.json() for r in hook.requests[:2])
    assert firing["alerts"][0]["labels"] == {
        "alertname": "BusyNode",
        "severity": "warning",
        "node": "worker-host",
    }
    assert firing["alerts"][0]["annotations"]["summary"] == "worker-host has 4 busy workers"
    assert resolved["status"] == "resolved"
