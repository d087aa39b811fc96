"""Scheduled evaluation: each rule group on its own interval, through the query backend.

A rule that also has a fast path is evaluated here too; series the fast path has seen
recently are judged by the fast path (it saw the newest sample first), the rest by the query.
Without a query backend only fast-path rules can be evaluated (others are skipped, logged
once). Each rule's outcome (ok or the error, when, how long) becomes its health (health.py).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from typing import Any

import structlog

from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.alerts.evaluation import RuleSpec
from opsplane.server.alerts.fastpath import FastPathEvaluator
from opsplane.server.alerts.recording import RecordingSpec
from opsplane.server.metrics.model import QueryBackend

log = structlog.get_logger(__name__)
Samples = list[tuple[Mapping[str, str], float]]
NO_BACKEND = "no query backend is configured: only fast-path rules can be evaluated"


class QueryResultError(Exception):
    pass


def samples_of(data: Mapping[str, Any]) -> Samples:
    """Prometheus's instant-query `data` as (labels, value) pairs."""
    kind, result = data.get("resultType"), data.get("result")
    if kind == "vector":
        return [(dict(s.get("metric") or {}), float(s["value"][1])) for s in result or []]
    if kind == "scalar":
        return [({}, float(result[1]))] if result else []
    raise QueryResultError(f"a rule needs a vector or a scalar, the query returned {kind}")


class Scheduler:
    def __init__(self, engine: AlertEngine, fast: FastPathEvaluator, *, timeout_s: float) -> None:
        self.engine, self.fast, self.timeout_s = engine, fast, timeout_s
        self._tasks: dict[int, tuple[float, asyncio.Task[None]]] = {}
        self._warned: set[int] = set()

    async def evaluate_rule(self, rule: RuleSpec, now: float) -> None:
        started = time.perf_counter()
        backend: QueryBackend | None = self.engine.query_backend()
        has_fast = rule.id in self.engine.fast
        if backend is None and not has_fast:
            if rule.id not in self._warned:
                self._warned.add(rule.id)
                log.warning("no query backend: rule not evaluated", rule=rule.name)
            self._evaluated(rule, now, started, NO_BACKEND)
            return
        samples: Samples = []
        if backend is not None:
            try:
                data = await backend.instant_query(rule.query, now, timeout_s=self.timeout_s)
                samples = samples_of(data)
            except Exception as exc:  # Prometheus keeps the state when a query fails
                self.engine.metrics.evaluation_failures.inc()
                log.warning("rule evaluation failed", rule=rule.name, error=str(exc))
                self._evaluated(rule, now, started, str(exc) or type(exc).__name__)
                return
        if has_fast:
            samples = self.fast.merge(rule.id, samples, now)
        self.engine.metrics.evaluations.labels("scheduled").inc()
        await self.engine.apply(rule.id, samples, now)
        self._evaluated(rule, now, started)

    def _evaluated(
        self, rule: RuleSpec, now: float, started: float, error: str | None = None
    ) -> None:
        duration = time.perf_counter() - started
        self.engine.evaluated(rule.id, at=now, duration_s=duration, error=error)

    async def record(self, spec: RecordingSpec, now: float) -> None:
        """Evaluate one recording rule and store its result (health kept by the recorder)."""
        backend: QueryBackend | None = self.engine.query_backend()

        async def query(expr: str, at: float) -> Samples:
            if backend is None:
                raise QueryResultError(NO_BACKEND)
            return samples_of(await backend.instant_query(expr, at, timeout_s=self.timeout_s))

        health = await self.engine.recorder.evaluate(spec, now, query)
        self.engine.metrics.evaluations.labels("recording").inc()
        if health.error is not None:
            self.engine.metrics.evaluation_failures.inc()
            log.warning("recording rule failed", record=spec.record, error=health.error)

    async def evaluate_group(self, group_id: int, now: float) -> None:
        if not self.engine.leads:
            return
        started = time.perf_counter()
        # Recording rules first: the group's alerting rules read what they just recorded.
        for spec in self.engine.recorder.in_group(group_id):
            await self.record(spec, now)
        for rule in self.engine.rules_in_group(group_id):
            await self.evaluate_rule(rule, now)
        self.engine.metrics.evaluation_seconds.observe(time.perf_counter() - started)

    async def _group_loop(self, group_id: int, interval: float) -> None:
        # Ticks aligned to the interval (like Prometheus, minus its per-group offset).
        while True:
            now = time.time()
            next_tick = math.floor(now / interval + 1) * interval
            await asyncio.sleep(next_tick - now)
            try:
                await self.evaluate_group(group_id, next_tick)
            except Exception:  # one bad group must not stop evaluation
                log.exception("group evaluation crashed", group=group_id)

    def reconcile(self) -> None:
        """One task per group, restarted when its interval changes."""
        groups = self.engine.groups
        for group_id, (interval, task) in list(self._tasks.items()):
            group = groups.get(group_id)
            if group is None or group.interval_s != interval:
                task.cancel()
                del self._tasks[group_id]
        for group in groups.values():
            if group.id not in self._tasks:
                task = asyncio.create_task(
                    self._group_loop(group.id, group.interval_s), name=f"alert-group-{group.name}"
                )
                self._tasks[group.id] = (group.interval_s, task)

    async def run(self, reload_every: float) -> None:
        """Keep group loops in step with the database (catches other processes' edits)."""
        try:
            while True:
                self.reconcile()
                await asyncio.sleep(reload_every)
                try:
                    await self.engine.reload()
                except Exception:
                    log.exception("alert config reload failed")
        finally:
            for _, task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*(t for _, t in self._tasks.values()), return_exceptions=True)
            self._tasks.clear()
