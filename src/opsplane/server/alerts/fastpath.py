"""The ingest fast path: threshold rules judged on each agent sample as it arrives.

The bus handler only enqueues (it runs inside the agent link's publish, which must not wait
for us); a worker drains the queue, keeps the newest sample per series, and applies each
affected rule to just those series. The scheduled tick (scheduler.py) covers what samples
cannot tell: `for` elapsing without a new sample, and series that stopped reporting.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from opsplane.protocol.telemetry import MetricPoint
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.bus.subjects import IngestMetrics, NodeRef
from opsplane.server.metrics.sink import agent_labels

log = structlog.get_logger(__name__)

# Prometheus's lookback delta: a series with no sample for this long is gone.
LOOKBACK_S = 300.0


def series_labels(node: NodeRef, point: MetricPoint) -> dict[str, str]:
    """The labels the TSDB stores an agent sample under, without `__name__`."""
    labels = agent_labels(node, point)
    del labels["__name__"]
    return labels


@dataclass(slots=True)
class Seen:
    labels: dict[str, str]
    value: float
    holds: bool
    at: float
    ts_ms: int = 0  # the sample's own time: an older sample arriving later is not judged


class FastPathEvaluator:
    def __init__(self, engine: AlertEngine, *, queue_size: int = 10_000) -> None:
        self.engine = engine
        self.queue: asyncio.Queue[tuple[IngestMetrics, float]] = asyncio.Queue(queue_size)
        self.seen: dict[int, dict[str, Seen]] = {}

    async def on_ingest(self, subject: str, message: Any) -> None:
        """Bus handler: hand off and return at once."""
        if not self.engine.fast or not self.engine.leads or not isinstance(message, IngestMetrics):
            return
        try:
            self.queue.put_nowait((message, time.perf_counter()))
        except asyncio.QueueFull:
            self.engine.metrics.queue_dropped.inc()

    async def run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while not self.queue.empty() and len(batch) < 500:
                batch.append(self.queue.get_nowait())
            try:
                await self.process([m for m, _ in batch])
            except Exception:  # keep the worker alive; the scheduled tick catches up
                log.exception("fast path evaluation failed")
            done = time.perf_counter()
            for _, queued in batch:
                self.engine.metrics.fast_path_seconds.observe(done - queued)

    def _newest(
        self, messages: list[IngestMetrics], now: float
    ) -> dict[Any, tuple[str, dict[str, str], float, int]]:
        newest: dict[Any, tuple[str, dict[str, str], float, int]] = {}
        names = {f.metric for f in self.engine.fast.values()}
        cutoff_ms = (now - LOOKBACK_S) * 1000
        for message in messages:
            for point in message.batch.points:
                if point.name not in names or point.ts_ms < cutoff_ms:
                    continue
                labels = series_labels(message.node, point)
                key = (point.name, tuple(sorted(labels.items())))
                old = newest.get(key)
                if old is None or old[3] <= point.ts_ms:
                    newest[key] = (point.name, labels, point.value, point.ts_ms)
        return newest

    async def process(self, messages: list[IngestMetrics]) -> None:
        now = time.time()
        per_rule: dict[int, list[tuple[str, Seen]]] = {}
        for name, labels, value, ts_ms in self._newest(messages, now).values():
            for rule_id, fast in list(self.engine.fast.items()):
                if not fast.selects(name, labels):
                    continue
                state = self.engine.states.get(rule_id)
                if state is None:
                    continue
                holds = not math.isnan(value) and fast.holds(value)
                seen = Seen(labels, value, holds, now, ts_ms)
                fp = state.fingerprint_of(labels, value)
                known = self.seen.get(rule_id, {}).get(fp)
                if known is not None and known.ts_ms > ts_ms:
                    continue  # a resent or late sample: the newer one already decided
                per_rule.setdefault(rule_id, []).append((fp, seen))
        for rule_id, updates in per_rule.items():
            tracked = self.seen.setdefault(rule_id, {})
            for fp, seen in updates:
                tracked[fp] = seen
            present = [(s.labels, s.value) for _, s in updates if s.holds]
            gone = {fp for fp, s in updates if not s.holds}
            self.engine.metrics.evaluations.labels("fast").inc()
            await self.engine.apply(rule_id, present, now, absent=gone.__contains__)

    def merge(
        self, rule_id: int, queried: list[tuple[Mapping[str, str], float]], now: float
    ) -> list[tuple[Mapping[str, str], float]]:
        """The scheduled result, with series the fast path saw recently judged by it."""
        tracked = self.seen.get(rule_id, {})
        for fp in [fp for fp, s in tracked.items() if now - s.at > LOOKBACK_S]:
            del tracked[fp]
        state = self.engine.states.get(rule_id)
        if state is None:
            return queried
        out = [
            (labels, value)
            for labels, value in queried
            if state.fingerprint_of(labels, value) not in tracked
        ]
        out.extend((s.labels, s.value) for s in tracked.values() if s.holds)
        return out

    def forget(self, rule_ids: set[int]) -> None:
        for rule_id in [r for r in self.seen if r not in rule_ids]:
            del self.seen[rule_id]
