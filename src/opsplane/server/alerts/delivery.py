"""Delivering notifications: retries with exponential backoff, and the delivery log.

Each attempt is one row in `notification_deliveries`. 5xx, 429 and network errors are
retried (they are usually transient); other 4xx are not (the request itself is wrong and
would fail again). Deliveries run as tasks, so nothing waits on a slow receiver.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.channels.base import ChannelConfig, Notification, Outcome
from opsplane.server.alerts.channels.types import KINDS
from opsplane.server.alerts.instruments import AlertMetrics
from opsplane.server.alerts.models import Delivery
from opsplane.server.db import Database
from opsplane.server.pagination import decode_cursor, encode_cursor

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int) -> float:
        """Exponential with +-20 % jitter, so many failing receivers do not retry in step."""
        raw = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(raw * random.uniform(0.8, 1.2))


class Deliverer:
    def __init__(
        self, db: Database, metrics: AlertMetrics, *, policy: RetryPolicy, timeout: float
    ) -> None:
        self.db, self.metrics, self.policy = db, metrics, policy
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._tasks: set[asyncio.Task[Outcome]] = set()

    def submit(self, channel: ChannelConfig, n: Notification) -> asyncio.Task[Outcome]:
        task = asyncio.create_task(self.deliver(channel, n), name=f"deliver-{n.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _attempt(self, channel: ChannelConfig, n: Notification) -> Outcome:
        kind = KINDS.get(channel.type)
        if kind is None:
            return Outcome(False, error=f"unknown channel type {channel.type}")
        try:
            return await kind.send(channel, n, self.client)
        except Exception as exc:  # a sender bug must not kill the pipeline; log and move on
            log.exception("channel send crashed", channel=channel.name)
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])

    async def deliver(
        self, channel: ChannelConfig, n: Notification, policy: RetryPolicy | None = None
    ) -> Outcome:
        """Send with retries; every attempt is logged. Returns the last outcome."""
        policy = policy or self.policy
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(channel, n)
            final = outcome.ok or not outcome.retryable or attempt >= policy.max_attempts
            status = "ok" if outcome.ok else "failed" if final else "retrying"
            self.metrics.notifications.labels(channel.type, status).inc()
            self.metrics.delivery_seconds.labels(channel.type).observe(outcome.latency_s)
            await self._log(channel, n, attempt, status, outcome)
            if final:
                if not outcome.ok:
                    log.warning(
                        "notification not delivered",
                        channel=channel.name,
                        attempts=attempt,
                        error=outcome.error,
                    )
                return outcome
            await asyncio.sleep(policy.delay(attempt))

    async def _log(
        self, channel: ChannelConfig, n: Notification, attempt: int, status: str, outcome: Outcome
    ) -> None:
        try:
            async with self.db.write_session() as session:
                session.add(
                    Delivery(
                        channel_id=channel.id if channel.id > 0 else None,
                        channel_name=channel.name,
                        notification_id=n.id,
                        kind=n.kind,
                        group_key=n.group_key[:512],
                        incident_ids=n.incident_ids,
                        status=status,
                        attempt=attempt,
                        http_status=outcome.http_status,
                        latency_ms=round(outcome.latency_s * 1000, 3),
                        error=outcome.error[:1024],
                        alert_count=len(n.alerts),
                    )
                )
        except Exception:  # the log is best effort; the delivery itself happened
            log.exception("could not record delivery attempt")

    async def close(self, grace: float = 2.0) -> None:
        """Let in-flight first attempts finish briefly, then cancel retries and close."""
        pending = list(self._tasks)
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        await self.client.aclose()


async def list_deliveries(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    channel_id: int | None = None,
    status: str | None = None,
    incident_id: int | None = None,
    notification_id: str | None = None,
) -> tuple[list[Delivery], str | None]:
    """Newest first."""
    query = select(Delivery).order_by(Delivery.id.desc())
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(Delivery.id < int(after[0]))
    if channel_id is not None:
        query = query.where(Delivery.channel_id == channel_id)
    if status:
        query = query.where(Delivery.status == status)
    if notification_id:
        query = query.where(Delivery.notification_id == notification_id)
    if incident_id is None:
        rows = list(await session.scalars(query.limit(limit + 1)))
    else:  # JSON list membership: filtered here, portable across backends
        rows = []
        for row in await session.scalars(query):
            if incident_id in (row.incident_ids or []):
                rows.append(row)
                if len(rows) > limit:
                    break
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor
