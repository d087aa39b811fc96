"""Generic webhook: opsplane's own JSON, optionally HMAC-signed (`X-Opsplane-Signature`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import httpx

from opsplane.server.alerts.channels.base import (
    ChannelConfig,
    Notification,
    NotifyAlert,
    Outcome,
    post_json,
)

SIGNATURE_HEADER = "X-Opsplane-Signature"


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _alert(a: NotifyAlert) -> dict[str, Any]:
    return {
        "status": a.status,
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "starts_at": _iso(a.starts_at),
        "ends_at": _iso(a.ends_at),
        "value": a.value,
        "fingerprint": a.fingerprint,
        "generator_url": a.generator_url,
        "alert_id": a.alert_id,
        "incident_id": a.incident_id,
    }


def payload(n: Notification) -> dict[str, Any]:
    return {
        "version": "1",
        "id": n.id,
        "kind": n.kind,
        "status": n.status,
        "receiver": n.receiver,
        "group_key": n.group_key,
        "group_labels": dict(n.group_labels),
        "common_labels": n.common_labels,
        "common_annotations": n.common_annotations,
        "external_url": n.external_url,
        "incident_ids": n.incident_ids,
        "alerts": [_alert(a) for a in n.alerts],
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send(channel: ChannelConfig, n: Notification, client: httpx.AsyncClient) -> Outcome:
    body = json.dumps(payload(n), separators=(",", ":")).encode()
    headers = dict(channel.secrets.get("headers") or {})
    if channel.secrets.get("hmac_secret"):
        headers[SIGNATURE_HEADER] = sign(str(channel.secrets["hmac_secret"]), body)
    outcome, _ = await post_json(
        client, str(channel.config["url"]), None, headers=headers, content=body
    )
    return outcome
