"""A real Prometheus evaluates a rule, a real Alertmanager posts to a real opsplane server:
the incident opens, then resolves when the condition clears."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.alerts.receiver import Receiver
from tests.support.alertmanager import AlertmanagerServer, webhook_config
from tests.support.processes import ServerProcess, wait_for
from tests.support.prometheus import PrometheusServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RULES = {
    "groups": [
        {
            "name": "flip",
            "interval": "1s",
            "rules": [
                {
                    "alert": "FlipHigh",
                    "expr": "flip_value > 0",
                    "labels": {"severity": "critical"},
                    "annotations": {"summary": "flip is {{ $value }} on {{ $labels.instance }}"},
                }
            ],
        }
    ]
}


def operator_token(client: httpx.Client) -> str:
    """An operator's API token: what Alertmanager's http_config.authorization carries."""
    user = client.post(
        "/api/v1/users",
        json={"username": "alertmanager", "password": "alertmanager-pass-1", "role": "operator"},
    )
    user.raise_for_status()
    token = client.post(
        "/api/v1/auth/tokens", json={"name": "alertmanager webhook", "user_id": user.json()["id"]}
    )
    token.raise_for_status()
    value: str = token.json()["token"]
    return value


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    parts: list[Any] = []
    try:
        server = ServerProcess(tmp_path / "server").start()
        parts.append(server)
        client = server.client()
        parts.append(client)
        exporter = Receiver(exposition="flip_value 0\n").start()
        parts.append(exporter)
        hook = f"{server.url}/api/v1/alerts/alertmanager"
        am = AlertmanagerServer(
            tmp_path / "am", webhook_config(hook, token=operator_token(client))
        ).start()
        parts.append(am)
        rules = tmp_path / "rules.yml"
        rules.write_text(json.dumps(RULES))
        target = exporter.url.split("://", 1)[1]
        prom = PrometheusServer(
            tmp_path / "prom",
            rule_files=[rules],
            alertmanager_url=am.url,
            scrape_configs=[{"job_name": "flip", "static_configs": [{"targets": [target]}]}],
        ).start()
        parts.append(prom)
        yield {"server": server, "client": client, "exporter": exporter, "am": am, "prom": prom}
    finally:
        for part in reversed(parts):
            part.close() if isinstance(part, httpx.Client) else part.stop()


def incidents(client: httpx.Client, state: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/incidents", params={"state": state})
    response.raise_for_status()
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_incident_opens_then_resolves(stack: dict[str, Any]) -> None:
    client, exporter = stack["client"], stack["exporter"]
    exporter.exposition = "flip_value 1\n"
    try:
        [opened] = wait_for(
            lambda: incidents(client, "open"), timeout=90, what="incident from Alertmanager"
        )
    except TimeoutError:
        pytest.fail(
            f"no incident; alertmanager: {stack['am'].tail()} "
            f"prometheus: {stack['prom'].tail()} server: {stack['server'].tail()}"
        )
    assert opened["title"].startswith("FlipHigh")
    assert opened["source"] == "alertmanager"
    alerts = client.get("/api/v1/alerts", params={"state": "firing"}).json()["items"]
    assert alerts[0]["labels"]["alertname"] == "FlipHigh"
    assert alerts[0]["annotations"]["summary"].startswith("flip is 1 on ")
    assert len(alerts[0]["fingerprint"]) == 16
    exporter.exposition = "flip_value 0\n"
    [resolved] = wait_for(
        lambda: incidents(client, "resolved"), timeout=60, what="incident resolved by Alertmanager"
    )
    assert resolved["id"] == opened["id"]
    alert = client.get(f"/api/v1/alerts/{alerts[0]['id']}").json()
    assert alert["state"] == "resolved"
    assert alert["resolved_at"]
    events = client.get(f"/api/v1/incidents/{opened['id']}/events").json()["items"]
    assert [e["kind"] for e in events][-1] == "resolved"
