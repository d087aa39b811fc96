"""SMTP email (aiosmtplib: async, never blocks the loop); STARTTLS or implicit TLS."""

from __future__ import annotations

import ssl
import time
from email.message import EmailMessage

import aiosmtplib
import httpx

from opsplane.server.alerts.channels.base import (
    ChannelConfig,
    Notification,
    Outcome,
    incident_link,
    plain_text,
    title,
)


def message(channel: ChannelConfig, n: Notification) -> EmailMessage:
    msg = EmailMessage()
    prefix = str(channel.config.get("subject_prefix") or "")
    msg["Subject"] = f"{prefix}{title(n)}"
    msg["From"] = str(channel.config["from_addr"])
    msg["To"] = ", ".join(channel.config["to"])
    msg["X-Opsplane-Notification"] = n.id
    msg.set_content(plain_text(n, link=incident_link(n)))
    return msg


async def send(channel: ChannelConfig, n: Notification, client: httpx.AsyncClient) -> Outcome:
    cfg = channel.config
    security = cfg.get("security", "starttls")
    started = time.perf_counter()
    ca = cfg.get("ca_cert")
    # An internal CA to trust; the host name is still checked against the certificate.
    context = ssl.create_default_context(cadata=ca) if ca and security != "none" else None
    try:
        await aiosmtplib.send(
            message(channel, n),
            hostname=str(cfg["host"]),
            port=int(cfg.get("port", 25)),
            username=cfg.get("username") or None,
            password=channel.secrets.get("password") or None,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            tls_context=context,
            timeout=float(cfg.get("timeout", 10)),
        )
    except aiosmtplib.SMTPResponseException as exc:
        # 4xx: the server asks us to come back later; 5xx: it refuses for good.
        return Outcome(
            False,
            None,
            f"SMTP {exc.code}: {exc.message}"[:500],
            400 <= exc.code < 500,
            time.perf_counter() - started,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        return Outcome(
            False, None, f"{type(exc).__name__}: {exc}"[:500], True, time.perf_counter() - started
        )
    return Outcome(True, None, latency_s=time.perf_counter() - started)
