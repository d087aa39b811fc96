"""Alertmanager-compatible webhook: the version 4 payload Alertmanager's webhook_config sends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

from opsplane.server.alerts.channels.base import (
    ChannelConfig,
    Notification,
    NotifyAlert,
    Outcome,
    post_json,
)

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(at: datetime | None) -> str:
    if at is None:
        return ZERO_TIME
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def group_key(n: Notification) -> str:
    inner = ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(n.group_labels.items()))
    return f"{{}}:{{{inner}}}"


def _alert(a: NotifyAlert) -> dict[str, Any]:
    return {
        "status": a.status,
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "startsAt": rfc3339(a.starts_at),
        "endsAt": rfc3339(a.ends_at) if a.status == "resolved" else ZERO_TIME,
        "generatorURL": a.generator_url,
        "fingerprint": a.fingerprint,
    }


def payload(n: Notification, *, receiver: str, max_alerts: int = 0) -> dict[str, Any]:
    alerts = [_alert(a) for a in n.alerts]
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated, alerts = len(alerts) - max_alerts, alerts[:max_alerts]
    return {
        "receiver": receiver,
        "status": n.status,
        "alerts": alerts,
        "groupLabels": dict(n.group_labels),
        "commonLabels": n.common_labels,
        "commonAnnotations": n.common_annotations,
        "externalURL": n.external_url,
        "version": "4",
        "groupKey": group_key(n),
        "truncatedAlerts": truncated,
    }


async def send(channel: ChannelConfig, n: Notification, client: httpx.AsyncClient) -> Outcome:
    body = payload(n, receiver=channel.name, max_alerts=int(channel.config.get("max_alerts", 0)))
    headers = dict(channel.secrets.get("headers") or {})
    if channel.secrets.get("bearer_token"):
        headers["Authorization"] = f"Bearer {channel.secrets['bearer_token']}"
    outcome, _ = await post_json(client, str(channel.config["url"]), body, headers=headers)
    return outcome
