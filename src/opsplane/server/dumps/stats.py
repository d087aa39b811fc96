"""Pipeline figures for the dashboard and `/metrics`, from the database (any process sees all)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.db import utcnow
from opsplane.server.dumps.models import FileStatus, ProcessingRecord, RetryRecord
from opsplane.server.dumps.states import FileState, RetryState, StepState

WINDOW_DAYS = 7
SAMPLE_ROWS = 50_000


@dataclass
class DumpStats:
    by_status: dict[str, int] = field(default_factory=dict)
    by_node: dict[str, int] = field(default_factory=dict)
    per_app_day: dict[tuple[str, str], int] = field(default_factory=dict)
    top_apps: list[tuple[str, int]] = field(default_factory=list)
    today: int = 0
    failed_today: int = 0
    mean_processing_seconds: float | None = None
    success_rate: dict[str, float] = field(default_factory=dict)
    retry_success_rate: dict[str, float] = field(default_factory=dict)
    error_types: dict[str, int] = field(default_factory=dict)


async def _grouped(session: AsyncSession, column: object, *where: object) -> dict[str, int]:
    query = select(column, func.count()).group_by(column)  # type: ignore[call-overload]
    for clause in where:
        query = query.where(clause)
    return {str(k if k is not None else ""): int(n) for k, n in (await session.execute(query))}


async def _recent(session: AsyncSession, since: datetime) -> list[tuple[str | None, datetime]]:
    rows = await session.execute(
        select(FileStatus.app, FileStatus.created_at)
        .where(FileStatus.created_at >= since)
        .order_by(FileStatus.id.desc())
        .limit(SAMPLE_ROWS)
    )
    return [(app, at) for app, at in rows]


async def _mean_processing(session: AsyncSession, since: datetime) -> float | None:
    rows = (
        await session.execute(
            select(FileStatus.created_at, FileStatus.analyzed_at)
            .where(FileStatus.analyzed_at.is_not(None), FileStatus.analyzed_at >= since)
            .limit(SAMPLE_ROWS)
        )
    ).all()
    spans = [(done - made).total_seconds() for made, done in rows if done is not None]
    return sum(spans) / len(spans) if spans else None


def _ratios(rows: dict[tuple[str, str], int], good: str, finished: set[str]) -> dict[str, float]:
    totals: Counter[str] = Counter()
    wins: Counter[str] = Counter()
    for (kind, state), n in rows.items():
        if state in finished:
            totals[kind] += n
            if state == good:
                wins[kind] += n
    return {k: wins[k] / totals[k] for k in totals if totals[k]}


async def _pairs(session: AsyncSession, a: object, b: object) -> dict[tuple[str, str], int]:
    query = select(a, b, func.count()).group_by(a, b)  # type: ignore[call-overload]
    return {(str(x), str(y)): int(n) for x, y, n in await session.execute(query)}


async def collect(session: AsyncSession, *, now: datetime | None = None) -> DumpStats:
    now = now or utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = day_start - timedelta(days=WINDOW_DAYS - 1)
    stats = DumpStats()
    by_status = await _grouped(session, FileStatus.status)
    stats.by_status = {s.value: by_status.get(s.value, 0) for s in FileState}
    stats.by_node = await _grouped(session, FileStatus.node_name)
    recent = await _recent(session, since)
    per_app_day: Counter[tuple[str, str]] = Counter(
        (app or "", at.date().isoformat()) for app, at in recent
    )
    stats.per_app_day = dict(per_app_day)
    stats.top_apps = Counter(app or "" for app, _ in recent).most_common(10)
    stats.today = sum(1 for _, at in recent if at >= day_start)
    stats.failed_today = int(
        await session.scalar(
            select(func.count())
            .select_from(FileStatus)
            .where(FileStatus.status == FileState.failed.value, FileStatus.failed_at >= day_start)
        )
        or 0
    )
    stats.mean_processing_seconds = await _mean_processing(session, now - timedelta(days=30))
    steps = await _pairs(session, ProcessingRecord.step, ProcessingRecord.status)
    stats.success_rate = _ratios(
        steps, StepState.success.value, {StepState.success.value, StepState.failed.value}
    )
    tries = await _pairs(session, RetryRecord.retry_type, RetryRecord.status)
    stats.retry_success_rate = _ratios(
        tries, RetryState.succeeded.value, {RetryState.succeeded.value, RetryState.exhausted.value}
    )
    stats.error_types = await _grouped(
        session, ProcessingRecord.error_type, ProcessingRecord.error_type.is_not(None)
    )
    return stats
