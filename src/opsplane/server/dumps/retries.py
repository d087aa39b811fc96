"""Retry records: automatic retries with exponential backoff and a maximum per step type,
manual retries, and which retries are due.

A failed step opens (or continues) the file's retry record for that step. While its count is
below the maximum it waits `base * 2**count` seconds (capped) and is then claimed by the retry
loop; at the maximum it is `exhausted` and the caller raises a notification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.db import utcnow
from opsplane.server.dumps.models import FileStatus, RetryRecord
from opsplane.server.dumps.states import RETRYABLE, RetryState, Step
from opsplane.server.pagination import decode_cursor, encode_cursor

ACTIVE = (RetryState.pending.value, RetryState.running.value)
# pg advisory lock key of the retry loop: "opsdumps" folded into a signed 64-bit integer.
RETRY_LOCK_KEY = int.from_bytes(b"opsdumps", "big") - 2**63


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: Mapping[Step, int] = field(default_factory=dict)
    base_delay: float = 30.0
    max_delay: float = 3600.0

    def delay(self, count: int) -> float:
        """Seconds before retry number `count + 1`."""
        return float(min(self.max_delay, self.base_delay * (2 ** min(count, 30))))

    def maximum(self, step: Step) -> int:
        return int(self.max_attempts.get(step, 0))


@dataclass(frozen=True, slots=True)
class Exhausted:
    """A retry sequence that gave up: what the notification says."""

    file_id: int
    file_name: str
    node: str
    app: str | None
    namespace: str | None
    step: str
    count: int
    error: str


async def active(session: AsyncSession, file_id: int, step: Step) -> RetryRecord | None:
    row: RetryRecord | None = await session.scalar(
        select(RetryRecord)
        .where(
            RetryRecord.file_id == file_id,
            RetryRecord.retry_type == step.value,
            RetryRecord.status.in_(ACTIVE),
        )
        .order_by(RetryRecord.id.desc())
        .limit(1)
    )
    return row


async def step_failed(
    session: AsyncSession, *, file: FileStatus, step: Step, error: str, policy: RetryPolicy
) -> Exhausted | None:
    """Schedule the next automatic retry of `step`, or give up (returned for notifying)."""
    if step not in RETRYABLE:
        return None
    record = await active(session, file.id, step)
    if record is None:
        record = RetryRecord(
            file_id=file.id,
            retry_type=step.value,
            reason=error[:1024],
            count=0,
            max_count=policy.maximum(step),
            manual=False,
        )
        session.add(record)
    record.last_error = error[:2048]
    if record.manual or record.count >= record.max_count:
        record.status = RetryState.exhausted.value
        record.next_attempt_at = None
        await session.flush()
        if record.manual:
            return None  # the operator who asked for it sees the failure; no page
        return Exhausted(
            file.id,
            file.file_name,
            file.node_name,
            file.app,
            file.namespace,
            step.value,
            record.count,
            error[:500],
        )
    record.status = RetryState.pending.value
    record.next_attempt_at = utcnow() + timedelta(seconds=policy.delay(record.count))
    await session.flush()
    return None


async def step_succeeded(session: AsyncSession, *, file_id: int, step: Step) -> None:
    """Close the step's open retry record as succeeded (if a retry brought it about)."""
    record = await active(session, file_id, step)
    if record is not None and record.count > 0:
        record.status = RetryState.succeeded.value
        record.next_attempt_at = None
    elif record is not None:
        record.status = RetryState.cancelled.value  # the step came through before any retry
        record.next_attempt_at = None
    await session.flush()


async def postpone(
    session: AsyncSession, *, file_id: int, step: Step, wait: bool, delay: float
) -> None:
    """A claimed retry that cannot run yet: back to pending in `delay` seconds without spending
    the attempt (`wait`), or cancelled when what it waited for will not come."""
    record = await active(session, file_id, step)
    if record is None or record.status != RetryState.running.value:
        return
    if wait:
        record.status = RetryState.pending.value
        record.count = max(0, record.count - 1)
        record.next_attempt_at = utcnow() + timedelta(seconds=delay)
    else:
        record.status = RetryState.cancelled.value
        record.last_error = "nothing to retry: the file has no report"
        record.next_attempt_at = None
    await session.flush()


async def cancel(session: AsyncSession, *, file_id: int, reason: str) -> None:
    rows = await session.scalars(
        select(RetryRecord).where(RetryRecord.file_id == file_id, RetryRecord.status.in_(ACTIVE))
    )
    for row in rows:
        row.status = RetryState.cancelled.value
        row.last_error = reason[:2048]
        row.next_attempt_at = None
    await session.flush()


async def start_manual(
    session: AsyncSession, *, file_id: int, step: Step, reason: str, by: str
) -> RetryRecord:
    """A manual retry replaces any automatic one waiting for the same step."""
    waiting = await active(session, file_id, step)
    if waiting is not None:
        waiting.status = RetryState.cancelled.value
        waiting.next_attempt_at = None
    record = RetryRecord(
        file_id=file_id,
        retry_type=step.value,
        reason=reason[:1024],
        status=RetryState.running.value,
        count=1,
        max_count=1,
        manual=True,
        requested_by=by[:128],
    )
    session.add(record)
    await session.flush()
    return record


async def _locked(session: AsyncSession) -> bool:
    """On PostgreSQL only one server process claims retries at a time; SQLite has one."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    got = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RETRY_LOCK_KEY})
    return bool(got)


async def claim_due(
    session: AsyncSession, *, now: datetime | None = None, limit: int = 50
) -> list[RetryRecord]:
    """Mark due retries running (count + 1) and return them; [] if another process holds the
    retry lock. The lock is transaction-scoped: it is released when the caller commits."""
    if not await _locked(session):
        return []
    rows = list(
        (
            await session.scalars(
                select(RetryRecord)
                .where(
                    RetryRecord.status == RetryState.pending.value,
                    RetryRecord.next_attempt_at <= (now or utcnow()),
                )
                .order_by(RetryRecord.next_attempt_at)
                .limit(limit)
            )
        ).all()
    )
    for row in rows:
        row.status = RetryState.running.value
        row.count += 1
        row.next_attempt_at = None
    await session.flush()
    return rows


async def list_retries(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    status: Sequence[str] = (),
    retry_type: str | None = None,
    manual: bool | None = None,
) -> tuple[list[tuple[RetryRecord, FileStatus]], str | None]:
    """Retry records of every file with their file, newest first (retry management)."""
    query = (
        select(RetryRecord, FileStatus)
        .join(FileStatus, FileStatus.id == RetryRecord.file_id)
        .order_by(RetryRecord.id.desc())
        .limit(limit + 1)
    )
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(RetryRecord.id < int(after[0]))
    if status:
        query = query.where(RetryRecord.status.in_(list(status)))
    if retry_type:
        query = query.where(RetryRecord.retry_type == retry_type)
    if manual is not None:
        query = query.where(RetryRecord.manual.is_(manual))
    rows = [(r, f) for r, f in (await session.execute(query)).all()]
    next_cursor = encode_cursor(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


async def for_file(session: AsyncSession, file_id: int) -> list[RetryRecord]:
    rows = await session.scalars(
        select(RetryRecord).where(RetryRecord.file_id == file_id).order_by(RetryRecord.id)
    )
    return list(rows.all())
