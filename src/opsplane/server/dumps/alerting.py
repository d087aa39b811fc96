"""Exhausted retries become alerts, routed to the notification channels like any other.

The alerts domain has no programmatic "raise an alert" call; its entry point for alerts made
outside its rule engine is the Alertmanager receiver (`alertmanager_in.receive` then
`AlertEngine.dispatch`), which keeps dedup by fingerprint, incidents and routing. We go
through it with a synthetic v4 payload: one alert per file and step, labelled
`alertname=HeapDumpRetriesExhausted`, resolved when the file is analysed after all.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from opsplane.server.alerts import alertmanager_in
from opsplane.server.alerts.alertmanager_in import AMAlert, AMWebhook
from opsplane.server.context import ServerContext
from opsplane.server.db import utcnow
from opsplane.server.dumps.retries import Exhausted

log = structlog.get_logger(__name__)
ALERTNAME = "HeapDumpRetriesExhausted"


def fingerprint(file_id: int, step: str) -> str:
    return f"opsplane-dumps-{file_id}-{step}"


def _alert(item: Exhausted, external_url: str) -> AMAlert:
    labels = {
        "alertname": ALERTNAME,
        "severity": "warning",
        "source": "opsplane-dumps",
        "node": item.node,
        "step": item.step,
        "file": item.file_name,
        "file_id": str(item.file_id),
    }
    if item.app:
        labels["app"] = item.app
    if item.namespace:
        labels["namespace"] = item.namespace
    return AMAlert(
        status="firing",
        labels=labels,
        annotations={
            "summary": f"{item.step} of {item.file_name} on {item.node} failed after "
            f"{item.count} retries",
            "description": item.error,
        },
        startsAt=utcnow(),
        generatorURL=f"{external_url}/dumps/files/{item.file_id}" if external_url else "",
        fingerprint=fingerprint(item.file_id, item.step),
    )


async def _receive(ctx: ServerContext, alerts: list[AMAlert]) -> None:
    engine = getattr(ctx, "alerts", None)
    if engine is None or not alerts:
        return
    payload = AMWebhook(version="4", receiver="opsplane-dumps", alerts=alerts)
    async with ctx.db.write_session() as session:
        _, changed = await alertmanager_in.receive(
            session, payload=payload, group_by=engine.group_by
        )
    engine.dispatch(changed)


async def notify_exhausted(ctx: ServerContext, items: Sequence[Exhausted]) -> None:
    """Raise one alert per exhausted retry sequence (never raises: logged instead)."""
    external = (ctx.settings.public_url or "").rstrip("/")
    try:
        await _receive(ctx, [_alert(i, external) for i in items])
    except Exception:
        log.exception("could not raise the retries-exhausted alert")


async def resolve(ctx: ServerContext, file_id: int, steps: Sequence[str]) -> None:
    """The file came through after all: resolve its alerts (no-op if none fired)."""
    alerts = [
        AMAlert(
            status="resolved",
            labels={"alertname": ALERTNAME, "file_id": str(file_id), "step": step},
            endsAt=utcnow(),
            fingerprint=fingerprint(file_id, step),
        )
        for step in steps
    ]
    try:
        await _receive(ctx, alerts)
    except Exception:
        log.exception("could not resolve the retries-exhausted alert")
