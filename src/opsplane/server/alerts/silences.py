"""Silences: label matchers (regex too), a time range, and optional recurring windows.

A recurring silence is a maintenance window: on the listed weekdays, from `start` (local
time in `timezone`) for `duration_minutes`, within the silence's overall time range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.labels import matcher_to_dict, matchers_from_dicts, matches_all
from opsplane.server.alerts.models import Silence
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.db import utcnow
from opsplane.server.errors import Invalid, NotFound
from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.pagination import decode_cursor, encode_cursor

_FIELDS = ("matchers", "starts_at", "ends_at", "recurrence", "comment")


@dataclass(frozen=True, slots=True)
class Recurrence:
    weekdays: frozenset[int]  # Monday = 0
    start: time
    duration: timedelta
    zone: ZoneInfo

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Recurrence:
        try:
            hour, minute = (int(p) for p in str(raw.get("start", "00:00")).split(":"))
            zone = ZoneInfo(str(raw.get("timezone") or "UTC"))
            days = frozenset(int(d) for d in raw.get("weekdays", range(7)))
            minutes = int(raw["duration_minutes"])
            start = time(hour, minute)
        except (ValueError, KeyError, TypeError, ZoneInfoNotFoundError) as exc:
            raise Invalid(f"bad recurrence {raw!r}: {exc}", code="bad_recurrence") from None
        if not days or not days <= set(range(7)) or not 0 < minutes <= 7 * 24 * 60:
            raise Invalid(
                "recurrence needs weekdays 0-6 (Monday 0) and 1..10080 minutes",
                code="bad_recurrence",
            )
        return cls(days, start, timedelta(minutes=minutes), zone)

    def covers(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        for back in range(8):
            day = local.date() - timedelta(days=back)
            if day.weekday() not in self.weekdays:
                continue
            begins = datetime.combine(day, self.start, self.zone)
            if begins <= local < begins + self.duration:
                return True
        return False


@dataclass(frozen=True, slots=True)
class SilenceSpec:
    id: int
    matchers: tuple[LabelMatcher, ...]
    starts_at: datetime
    ends_at: datetime | None
    recurrence: Recurrence | None

    @classmethod
    def of(cls, row: Silence) -> SilenceSpec:
        rec = Recurrence.from_dict(row.recurrence) if row.recurrence else None
        return cls(
            row.id,
            tuple(matchers_from_dicts(row.matchers)),
            row.starts_at,
            row.expired_at or row.ends_at,
            rec,
        )

    def active(self, at: datetime) -> bool:
        if at < self.starts_at or (self.ends_at is not None and at >= self.ends_at):
            return False
        return self.recurrence is None or self.recurrence.covers(at)

    def mutes(self, labels: dict[str, str], at: datetime) -> bool:
        return self.active(at) and matches_all(self.matchers, labels)


def state_of(row: Silence, at: datetime) -> str:
    """expired, pending (not started), active, or scheduled (recurring, between windows)."""
    spec = SilenceSpec.of(row)
    if spec.ends_at is not None and at >= spec.ends_at:
        return "expired"
    if at < spec.starts_at:
        return "pending"
    return "active" if spec.active(at) else "scheduled"


def _check(
    matchers: list[dict[str, Any]],
    starts_at: datetime,
    ends_at: datetime | None,
    recurrence: dict[str, Any] | None,
) -> list[dict[str, str]]:
    parsed = matchers_from_dicts(matchers)
    if not parsed:
        raise Invalid("a silence needs at least one matcher", code="bad_silence")
    if all(m.matches("") for m in parsed):
        raise Invalid(
            "a silence must not match every alert (all matchers match empty labels)",
            code="bad_silence",
        )
    if ends_at is None and recurrence is None:
        raise Invalid("a one-off silence needs ends_at", code="bad_silence")
    if ends_at is not None and ends_at <= starts_at:
        raise Invalid("ends_at must be after starts_at", code="bad_silence")
    if recurrence is not None:
        Recurrence.from_dict(recurrence)
    return [matcher_to_dict(m) for m in parsed]


def _snapshot(row: Silence) -> dict[str, Any]:
    return {
        f: (v.isoformat() if isinstance(v := getattr(row, f), datetime) else v) for f in _FIELDS
    }


async def get_silence(session: AsyncSession, silence_id: int) -> Silence:
    row = await session.get(Silence, silence_id)
    if row is None:
        raise NotFound(f"silence {silence_id} not found", code="silence_not_found")
    return row


async def create_silence(
    session: AsyncSession,
    *,
    matchers: list[dict[str, Any]],
    starts_at: datetime | None,
    ends_at: datetime | None,
    recurrence: dict[str, Any] | None,
    comment: str,
    by: Actor,
) -> Silence:
    starts = starts_at or utcnow()
    row = Silence(
        matchers=_check(matchers, starts, ends_at, recurrence),
        starts_at=starts,
        ends_at=ends_at,
        recurrence=recurrence,
        comment=comment,
        created_by=by.name,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_silence.create",
        target_type="alert_silence",
        target_id=row.id,
        summary=comment[:200],
        after=_snapshot(row),
    )
    return row


async def update_silence(
    session: AsyncSession, *, silence_id: int, changes: dict[str, Any], by: Actor
) -> Silence:
    row = await get_silence(session, silence_id)
    if row.expired_at is not None:
        raise Invalid("an expired silence cannot be edited; create a new one", code="expired")
    before = _snapshot(row)
    merged = {f: changes.get(f, getattr(row, f)) for f in _FIELDS}
    row.matchers = _check(
        merged["matchers"], merged["starts_at"], merged["ends_at"], merged["recurrence"]
    )
    row.starts_at, row.ends_at = merged["starts_at"], merged["ends_at"]
    row.recurrence, row.comment = merged["recurrence"], merged["comment"]
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_silence.update",
        target_type="alert_silence",
        target_id=row.id,
        before=before,
        after=_snapshot(row),
    )
    return row


async def expire_silence(session: AsyncSession, *, silence_id: int, by: Actor) -> Silence:
    row = await get_silence(session, silence_id)
    if row.expired_at is None:
        row.expired_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            by=by,
            action="alert_silence.expire",
            target_type="alert_silence",
            target_id=row.id,
            before=_snapshot(row),
        )
    return row


async def list_silences(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None = None,
    state: str | None = None,
    search: str | None = None,
) -> tuple[list[Silence], str | None]:
    """Newest first; the state filter is applied in Python (it depends on the clock)."""
    query = select(Silence).order_by(Silence.id.desc())
    after = decode_cursor(cursor, 1)
    if after is not None:
        query = query.where(Silence.id < int(after[0]))
    now, out = utcnow(), []
    for row in await session.scalars(query):
        if state and state_of(row, now) != state:
            continue
        if search and search.lower() not in (row.comment + str(row.matchers)).lower():
            continue
        out.append(row)
        if len(out) > limit:
            break
    next_cursor = encode_cursor(out[limit - 1].id) if len(out) > limit else None
    return out[:limit], next_cursor


async def load_live(session: AsyncSession) -> list[SilenceSpec]:
    """Silences that are or will be active (for the in-memory mute check)."""
    now = utcnow()
    rows = await session.scalars(select(Silence).where(Silence.expired_at.is_(None)))
    return [s for s in (SilenceSpec.of(r) for r in rows) if s.ends_at is None or s.ends_at > now]
