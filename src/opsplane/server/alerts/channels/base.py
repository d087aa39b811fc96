"""What every channel receives (a Notification) and returns (an Outcome), plus shared helpers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from opsplane.server.alerts.templates import go_float


@dataclass(frozen=True, slots=True)
class NotifyAlert:
    """An alert as notifications describe it (rule-made or received from Alertmanager)."""

    fingerprint: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    status: str  # firing | resolved
    starts_at: datetime
    ends_at: datetime | None = None
    value: float | None = None
    generator_url: str = ""
    alert_id: int | None = None
    incident_id: int | None = None


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = dict(maps[0])
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    kind: str  # alert | escalation | test
    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    alerts: tuple[NotifyAlert, ...]
    external_url: str = ""
    route: str = "root"

    @property
    def status(self) -> str:
        return "firing" if any(a.status == "firing" for a in self.alerts) else "resolved"

    @property
    def common_labels(self) -> dict[str, str]:
        return _common([a.labels for a in self.alerts])

    @property
    def common_annotations(self) -> dict[str, str]:
        return _common([a.annotations for a in self.alerts])

    @property
    def incident_ids(self) -> list[int]:
        return sorted({a.incident_id for a in self.alerts if a.incident_id is not None})

    def firing(self) -> list[NotifyAlert]:
        return [a for a in self.alerts if a.status == "firing"]

    def resolved(self) -> list[NotifyAlert]:
        return [a for a in self.alerts if a.status == "resolved"]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    http_status: int | None = None
    error: str = ""
    retryable: bool = False
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    """A channel as the sender sees it: config plus decrypted secrets (never logged)."""

    id: int
    name: str
    type: str
    config: Mapping[str, Any]
    secrets: Mapping[str, Any] = field(repr=False, default_factory=dict)
    send_resolved: bool = True
    enabled: bool = True
    is_default: bool = True


Sender = Callable[[ChannelConfig, Notification, httpx.AsyncClient], Awaitable[Outcome]]


def classify(response: httpx.Response, started: float) -> Outcome:
    """2xx delivered; 5xx and 429 worth retrying; any other 4xx is our fault: do not retry."""
    latency = time.perf_counter() - started
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(True, status, latency_s=latency)
    retryable = status >= 500 or status == 429
    return Outcome(False, status, f"HTTP {status}: {response.text[:200]}", retryable, latency)


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> tuple[Outcome, httpx.Response | None]:
    started = time.perf_counter()
    try:
        if content is not None:
            response = await client.post(
                url,
                content=content,
                headers={"content-type": "application/json", **(headers or {})},
            )
        else:
            response = await client.post(url, json=body, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        return Outcome(
            False, None, f"{type(exc).__name__}: {exc}"[:500], True, time.perf_counter() - started
        ), None
    return classify(response, started), response


def title(n: Notification) -> str:
    """`[FIRING:2] HighCPU (node=web-1)`: what a human sees first."""
    count = len(n.firing()) if n.status == "firing" else len(n.resolved())
    prefix = {"test": "[TEST] ", "escalation": "[ESCALATION] "}.get(n.kind, "")
    group = " ".join(f"{k}={v}" for k, v in sorted(n.group_labels.items()) if k != "alertname")
    name = n.common_labels.get("alertname") or n.group_labels.get("alertname") or "alerts"
    return f"{prefix}[{n.status.upper()}:{count}] {name}" + (f" ({group})" if group else "")


def describe(alert: NotifyAlert) -> str:
    text = (
        alert.annotations.get("summary")
        or alert.annotations.get("description")
        or alert.labels.get("alertname", "alert")
    )
    value = f" (value {go_float(alert.value)})" if alert.value is not None else ""
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    return f"[{alert.status}] {text}{value} — {labels}"


def plain_text(n: Notification, *, link: str = "") -> str:
    lines = [title(n), ""] + [f"- {describe(a)}" for a in n.alerts]
    if link:
        lines += ["", link]
    return "\n".join(lines)


def incident_link(n: Notification) -> str:
    if not n.external_url or not n.incident_ids:
        return ""
    return f"{n.external_url.rstrip('/')}/incidents/{n.incident_ids[0]}"
