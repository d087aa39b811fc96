"""Channel payloads (Alertmanager v4 like the real one, webhook signing, DingTalk signing),
secret splitting and encryption at rest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from datetime import UTC, datetime

import pytest

from opsplane.server.alerts.channels import alertmanager, webhook
from opsplane.server.alerts.channels.base import Notification, NotifyAlert, title
from opsplane.server.alerts.channels.chat import dingtalk_url
from opsplane.server.alerts.channels.secretbox import SecretBox, SecretsUnreadable
from opsplane.server.alerts.channels.types import split_config
from opsplane.server.errors import Invalid
from tests.support.env import FIXTURES

START = datetime(2026, 11, 22, 11, 3, 17, 553000, tzinfo=UTC)


def notification(*statuses: str) -> Notification:
    alerts = tuple(
        NotifyAlert(
            fingerprint=f"fp{i}",
            labels={"alertname": "HighCPU", "node": f"n{i}", "severity": "critical"},
            annotations={"summary": "cpu high"},
            status=s,
            starts_at=START,
            ends_at=START if s == "resolved" else None,
            value=95.0,
        )
        for i, s in enumerate(statuses)
    )
    return Notification(
        id="n1",
        kind="alert",
        receiver="ops",
        group_key="root:{}",
        group_labels={"alertname": "HighCPU"},
        alerts=alerts,
        external_url="http://opsplane:8080",
    )


def test_alertmanager_payload_has_the_real_v4_shape() -> None:
    real = json.loads((FIXTURES / "alertmanager" / "webhook-v4-firing.json").read_text())
    ours = alertmanager.payload(notification("firing"), receiver="webhook")
    assert set(ours) == set(real)
    assert set(ours["alerts"][0]) == set(real["alerts"][0])
    assert ours["version"] == "4"
    assert ours["status"] == "firing"
    assert ours["alerts"][0]["startsAt"] == "2026-11-22T11:03:17.553Z"
    assert ours["alerts"][0]["endsAt"] == real["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert ours["groupKey"] == '{}:{alertname="HighCPU"}'
    assert ours["commonLabels"] == {"alertname": "HighCPU", "severity": "critical", "node": "n0"}


def test_alertmanager_payload_truncates_and_reports_resolved() -> None:
    body = alertmanager.payload(
        notification("resolved", "resolved", "resolved"), receiver="r", max_alerts=2
    )
    assert body["status"] == "resolved"
    assert body["truncatedAlerts"] == 1
    assert len(body["alerts"]) == 2
    assert body["alerts"][0]["endsAt"] != alertmanager.ZERO_TIME
    assert body["commonLabels"] == {"alertname": "HighCPU", "severity": "critical"}


def test_webhook_payload_and_signature() -> None:
    body = webhook.payload(notification("firing", "resolved"))
    assert body["status"] == "firing"
    assert len(body["alerts"]) == 2
    assert body["alerts"][1]["status"] == "resolved"
    raw = json.dumps(body).encode()
    expected = "sha256=" + hmac.new(b"k", raw, hashlib.sha256).hexdigest()
    assert webhook.sign("k", raw) == expected


def test_title_counts_what_fires() -> None:
    assert title(notification("firing", "firing", "resolved")) == "[FIRING:2] HighCPU"


def test_dingtalk_signature() -> None:
    url = dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SEC", 1700000000000)
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    digest = hmac.new(b"SEC", b"1700000000000\nSEC", hashlib.sha256).digest()
    assert query["timestamp"] == "1700000000000"
    assert query["sign"] == base64.b64encode(digest).decode()
    assert dingtalk_url("https://x/robot?a=1", None) == "https://x/robot?a=1"


def test_split_config_separates_secrets_and_validates() -> None:
    plain, secrets = split_config(
        "email",
        {
            "host": "smtp.example.com",
            "port": 587,
            "username": "u",
            "password": "p",
            "from_addr": "ops@example.com",
            "to": ["a@example.com"],
        },
    )
    assert "password" not in plain
    assert secrets == {"password": "p"}
    plain, secrets = split_config("slack", {"webhook_url": "https://hooks.slack.com/services/X"})
    assert plain == {}
    assert secrets["webhook_url"].startswith("https://")
    with pytest.raises(Invalid):
        split_config("webhook", {"url": "ftp://x"})
    with pytest.raises(Invalid):
        split_config("webhook", {"url": "http://x", "unknown": 1})
    with pytest.raises(Invalid):
        split_config("pager", {})


def test_secretbox_round_trip_and_key_binding() -> None:
    box = SecretBox("a" * 48)
    token = box.seal({"password": "hunter2"})
    assert "hunter2" not in token
    assert box.open(token) == {"password": "hunter2"}
    with pytest.raises(SecretsUnreadable):
        SecretBox("b" * 48).open(token)
    assert box.seal({}) == ""
    assert box.open("") == {}
