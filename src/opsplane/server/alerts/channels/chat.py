"""Chat robots: Slack incoming webhooks, DingTalk and WeCom group robots.

The robot URLs carry their access keys, so they are stored as secrets. DingTalk and WeCom
answer HTTP 200 with `{"errcode": ...}`; a non-zero code is a failure, retried only when it
means "busy" or "rate limited".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from typing import Any

import httpx

from opsplane.server.alerts.channels.base import (
    ChannelConfig,
    Notification,
    Outcome,
    describe,
    incident_link,
    post_json,
    title,
)

# DingTalk: -1 system busy, 130101 too many messages; WeCom: -1 busy, 45009 rate limited.
_RETRYABLE_ERRCODES = {-1, 130101, 45009}


def _markdown(n: Notification) -> str:
    lines = [f"### {title(n)}", ""] + [f"- {describe(a)}" for a in n.alerts]
    link = incident_link(n)
    if link:
        lines += ["", f"[open incident]({link})"]
    return "\n".join(lines)


def _errcode(outcome: Outcome, response: httpx.Response | None) -> Outcome:
    if not outcome.ok or response is None:
        return outcome
    try:
        body: Any = response.json()
    except ValueError:
        return outcome
    code = body.get("errcode", 0) if isinstance(body, dict) else 0
    if code in (0, None):
        return outcome
    return Outcome(
        False,
        response.status_code,
        f"errcode {code}: {body.get('errmsg', '')}",
        code in _RETRYABLE_ERRCODES,
        outcome.latency_s,
    )


async def send_slack(channel: ChannelConfig, n: Notification, client: httpx.AsyncClient) -> Outcome:
    link = incident_link(n)
    body: dict[str, Any] = {
        "text": title(n),
        "attachments": [
            {
                "color": "danger" if n.status == "firing" else "good",
                "title": title(n),
                "title_link": link or None,
                "text": "\n".join(describe(a) for a in n.alerts),
            }
        ],
    }
    for key in ("channel", "username", "icon_emoji"):
        if channel.config.get(key):
            body[key] = channel.config[key]
    outcome, _ = await post_json(client, str(channel.secrets["webhook_url"]), body)
    return outcome


def dingtalk_url(url: str, secret: str | None, now_ms: int | None = None) -> str:
    """Add DingTalk's signature (HMAC-SHA256 of `timestamp\\nsecret`) when a secret is set."""
    if not secret:
        return url
    ts = now_ms if now_ms is not None else int(time.time() * 1000)
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}timestamp={ts}&sign={sign}"


async def send_dingtalk(
    channel: ChannelConfig, n: Notification, client: httpx.AsyncClient
) -> Outcome:
    url = dingtalk_url(str(channel.secrets["webhook_url"]), channel.secrets.get("sign_secret"))
    body = {
        "msgtype": "markdown",
        "markdown": {"title": title(n), "text": _markdown(n)},
        "at": {"atMobiles": list(channel.config.get("at_mobiles") or []), "isAtAll": False},
    }
    return _errcode(*await post_json(client, url, body))


async def send_wecom(channel: ChannelConfig, n: Notification, client: httpx.AsyncClient) -> Outcome:
    body = {"msgtype": "markdown", "markdown": {"content": _markdown(n)}}
    return _errcode(*await post_json(client, str(channel.secrets["webhook_url"]), body))
