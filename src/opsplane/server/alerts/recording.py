"""Recording rules: validation, CRUD (audited), and evaluation into the TSDB.

Prometheus semantics: at each tick of its group, `expr` is evaluated as an instant query;
every sample of the result is stored as a sample of the series named `record`, with the
rule's labels over the result's (an empty value removes the label). A result with two
samples of one label set after that is an error (nothing is written). A series the rule
wrote last time and not this time gets a stale marker, so it vanishes from queries at once
instead of after the 5 minute lookback. Samples go through the same storage as everything
else (the embedded TSDB, or the remote backend's remote write).

A group evaluates its recording rules (by position) before its alerting rules, so alerts of
the group read what was just recorded (the usual order in Prometheus rule files).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts import builder
from opsplane.server.alerts import rules as rule_service
from opsplane.server.alerts.models import RecordingRule
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import Invalid, NotFound
from opsplane.server.metrics.model import STALE_NAN
from opsplane.server.metrics.remote_write import TimeSeries

FIELDS = ("record", "expr", "labels", "enabled")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
Key = tuple[tuple[str, str], ...]


class RecordingNotFound(NotFound):
    code = "recording_rule_not_found"


class DuplicateSeries(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class RecordingSpec:
    id: int
    group_id: int
    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class RecordingHealth:
    at: float
    duration_s: float
    error: str | None = None
    series: int = 0


def check_recording(*, record: str, expr: str, labels: Mapping[str, str]) -> None:
    """Refuse what Prometheus would refuse: a bad metric name, bad PromQL, bad label names."""
    if not builder.METRIC_NAME.match(record):
        raise Invalid(f"record {record!r} is not a valid metric name", code="bad_record")
    builder.parse_expr(expr)
    for key in labels:
        if not LABEL_NAME.match(key) or key == "__name__":
            raise Invalid(f"label name {key!r} is not allowed", code="bad_label")


def snapshot(row: RecordingRule) -> dict[str, Any]:
    return {f: getattr(row, f) for f in FIELDS} | {"group_id": row.group_id}


def to_spec(row: RecordingRule) -> RecordingSpec:
    return RecordingSpec(row.id, row.group_id, row.record, row.expr, dict(row.labels))


async def get_recording(session: AsyncSession, rule_id: int) -> RecordingRule:
    row = await session.get(RecordingRule, rule_id)
    if row is None:
        raise RecordingNotFound(f"recording rule {rule_id} not found")
    return row


async def create_recording(
    session: AsyncSession,
    *,
    group: str,
    record: str,
    expr: str,
    labels: Mapping[str, str],
    enabled: bool,
    by: Actor,
    audit_it: bool = True,
) -> RecordingRule:
    check_recording(record=record, expr=expr, labels=labels)
    group_row = await rule_service.group_by_name(session, group, create=True, by=by)
    last = await session.scalar(
        select(func.max(RecordingRule.position)).where(RecordingRule.group_id == group_row.id)
    )
    row = RecordingRule(
        group_id=group_row.id,
        position=(last or 0) + 1,
        record=record,
        expr=expr,
        labels=dict(labels),
        enabled=enabled,
        created_by=by.name,
    )
    session.add(row)
    await session.flush()
    if audit_it:
        await audit.record(
            session,
            by=by,
            action="recording_rule.create",
            target_type="recording_rule",
            target_id=row.id,
            summary=f"{record} in {group}",
            after=snapshot(row),
        )
    return row


async def update_recording(
    session: AsyncSession, *, rule_id: int, changes: Mapping[str, Any], by: Actor
) -> RecordingRule:
    row = await get_recording(session, rule_id)
    before = snapshot(row)
    values = {**before, **{k: v for k, v in changes.items() if k in FIELDS}}
    check_recording(record=values["record"], expr=values["expr"], labels=values["labels"])
    for key in FIELDS:
        setattr(row, key, values[key])
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="recording_rule.update",
        target_type="recording_rule",
        target_id=row.id,
        summary=row.record,
        before=before,
        after=snapshot(row),
    )
    return row


async def delete_recording(session: AsyncSession, *, rule_id: int, by: Actor) -> None:
    row = await get_recording(session, rule_id)
    before = snapshot(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="recording_rule.delete",
        target_type="recording_rule",
        target_id=rule_id,
        summary=before["record"],
        before=before,
    )


async def list_recordings(
    session: AsyncSession, *, group_id: int | None = None, enabled_only: bool = False
) -> list[RecordingRule]:
    query = select(RecordingRule).order_by(RecordingRule.group_id, RecordingRule.position)
    if group_id is not None:
        query = query.where(RecordingRule.group_id == group_id)
    if enabled_only:
        query = query.where(RecordingRule.enabled.is_(True))
    return list((await session.scalars(query)).all())


def recorded(
    spec: RecordingSpec, samples: Sequence[tuple[Mapping[str, str], float]]
) -> dict[Key, tuple[dict[str, str], float]]:
    """The series a result becomes: `record` as the name, the rule's labels over the
    sample's (empty removes). DuplicateSeries when two samples end up with one label set."""
    out: dict[Key, tuple[dict[str, str], float]] = {}
    for sample_labels, value in samples:
        labels = {k: v for k, v in sample_labels.items() if k != "__name__"}
        for name, text in spec.labels.items():
            if text:
                labels[name] = text
            else:
                labels.pop(name, None)
        labels["__name__"] = spec.record
        key = tuple(sorted(labels.items()))
        if key in out:
            raise DuplicateSeries(
                "vector contains metrics with the same labelset after applying rule labels"
            )
        out[key] = (labels, value)
    return out


class Recorder:
    """Evaluates recording rules and writes what they record.

    Args:
        write: Stores remote-write style series (the TSDB's `append`).
    """

    def __init__(self, write: Callable[[Sequence[TimeSeries]], Awaitable[int]]) -> None:
        self.write = write
        self.specs: dict[int, RecordingSpec] = {}
        self.health: dict[int, RecordingHealth] = {}
        self._last: dict[int, set[Key]] = {}

    def load(self, specs: Sequence[RecordingSpec]) -> None:
        self.specs = {s.id: s for s in specs}
        for rule_id in [r for r in self._last if r not in self.specs]:
            del self._last[rule_id]
        for rule_id in [r for r in self.health if r not in self.specs]:
            del self.health[rule_id]

    def in_group(self, group_id: int) -> list[RecordingSpec]:
        return [s for s in self.specs.values() if s.group_id == group_id]

    async def evaluate(
        self,
        spec: RecordingSpec,
        now: float,
        query: Callable[[str, float], Awaitable[Sequence[tuple[Mapping[str, str], float]]]],
    ) -> RecordingHealth:
        """Evaluate at `now` (unix seconds) and store the result; returns the rule's health.

        A failed query or a duplicate label set writes nothing (like Prometheus, which keeps
        the previous samples until they go stale by lookback).
        """
        started = time.perf_counter()
        try:
            series = recorded(spec, await query(spec.expr, now))
            ts = np.array([round(now * 1000)], dtype=np.int64)
            batch = [
                TimeSeries(labels, ts, np.array([value], dtype=np.float64))
                for labels, value in series.values()
            ]
            for key in self._last.get(spec.id, set()) - series.keys():
                batch.append(TimeSeries(dict(key), ts, np.array([STALE_NAN], dtype=np.float64)))
            if batch:
                await self.write(batch)
            self._last[spec.id] = set(series)
            health = RecordingHealth(now, time.perf_counter() - started, None, len(series))
        except Exception as exc:
            error = str(exc) or type(exc).__name__
            health = RecordingHealth(now, time.perf_counter() - started, error)
        self.health[spec.id] = health
        return health
