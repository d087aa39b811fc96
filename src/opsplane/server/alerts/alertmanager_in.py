"""Alertmanager in: its webhook (version 4) turned into alerts and incidents.

Alerts are matched by Alertmanager's fingerprint: a repeated firing alert updates the one we
have (dedup), a resolved one ends it and, with it, its incident once nothing else fires.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import incidents
from opsplane.server.alerts.book import notify_alert
from opsplane.server.alerts.channels.base import NotifyAlert
from opsplane.server.alerts.labels import fingerprint
from opsplane.server.alerts.models import Alert, AlertEvent, AlertState
from opsplane.server.db import utcnow

SOURCE = "alertmanager"
_YEAR_ONE = 1900  # Alertmanager's "zero time" is 0001-01-01: no end yet


class AMAlert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str = ""  # noqa: N815
    fingerprint: str = ""


class AMWebhook(BaseModel):
    """Alertmanager's webhook_config payload; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupKey: str = ""  # noqa: N815
    externalURL: str = ""  # noqa: N815
    alerts: list[AMAlert] = Field(max_length=10_000)


class Received(BaseModel):
    received: int
    firing: int
    resolved: int
    incident_ids: list[int]


def _when(at: datetime | None) -> datetime | None:
    if at is None or at.year < _YEAR_ONE:
        return None
    return at.astimezone(UTC)


async def _open_alert(session: AsyncSession, fp: str, source: str) -> Alert | None:
    return await session.scalar(
        select(Alert)
        .where(
            Alert.source == source, Alert.fingerprint == fp, Alert.state == AlertState.firing.value
        )
        .order_by(Alert.id.desc())
        .limit(1)
    )


async def _fire(
    session: AsyncSession, am: AMAlert, fp: str, group_by: Sequence[str], source: str
) -> Alert:
    row = await _open_alert(session, fp, source)
    if row is not None:  # Alertmanager repeats firing alerts: update, do not duplicate
        row.annotations, row.labels = dict(am.annotations), dict(am.labels)
        return row
    started = _when(am.startsAt) or utcnow()
    row = Alert(
        source=source,
        rule_id=None,
        name=am.labels.get("alertname", "alert")[:128],
        fingerprint=fp,
        state=AlertState.firing.value,
        severity=am.labels.get("severity", ""),
        labels=dict(am.labels),
        annotations=dict(am.annotations),
        active_at=started,
        fired_at=started,
        generator_url=am.generatorURL[:1024],
    )
    session.add(row)
    await session.flush()
    session.add(
        AlertEvent(
            alert_id=row.id,
            to_state=AlertState.firing.value,
            at=started,
            message="received from Alertmanager",
        )
    )
    await incidents.attach(session, alert=row, group_by=group_by)
    return row


async def _resolve(session: AsyncSession, am: AMAlert, fp: str, source: str) -> Alert | None:
    row = await _open_alert(session, fp, source)
    if row is None:
        return None  # never seen firing (or already resolved): nothing to end
    row.state = AlertState.resolved.value
    row.resolved_at = _when(am.endsAt) or utcnow()
    row.annotations = dict(am.annotations)
    session.add(
        AlertEvent(
            alert_id=row.id,
            from_state=AlertState.firing.value,
            to_state=AlertState.resolved.value,
            at=row.resolved_at,
            message="resolved by Alertmanager",
        )
    )
    await incidents.alert_resolved(session, alert=row)
    return row


async def receive(
    session: AsyncSession, *, payload: AMWebhook, group_by: Sequence[str], source: str = SOURCE
) -> tuple[Received, list[NotifyAlert]]:
    """Apply one webhook; returns the summary and the alerts to route onwards.

    Args:
        source: recorded on the alerts (at most 16 characters); other domains raising
            alerts through this path name themselves here (see `AlertEngine.raise_alerts`).
    """
    firing, resolved, incident_ids, changed = 0, 0, set(), []
    for am in payload.alerts:
        fp = am.fingerprint or fingerprint(am.labels)
        if am.status == "firing":
            row: Alert | None = await _fire(session, am, fp, group_by, source)
            firing += 1
        else:
            row = await _resolve(session, am, fp, source)
            resolved += 1
        if row is not None:
            if row.incident_id is not None:
                incident_ids.add(row.incident_id)
            changed.append(row)
    await session.flush()
    summary = Received(
        received=len(payload.alerts),
        firing=firing,
        resolved=resolved,
        incident_ids=sorted(incident_ids),
    )
    return summary, [notify_alert(r) for r in changed]
