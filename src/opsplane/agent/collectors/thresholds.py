"""Threshold checks between collection ticks (see protocol/thresholds.py).

Every `threshold_check_interval` seconds the checker asks the collectors for just the
series the server's threshold watches read (`Collector.sample`) and spools the points that
moved to the other side of a threshold, so a crossing reaches the server's alert fast path
within one check interval instead of one metrics interval. The regular ticks pass their
points through `observe` too, so a side already reported is never reported twice.

Check and tick share a lock: points are spooled in the order of their timestamps, and the
server never judges an older sample after a newer one of the same series.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence

import structlog

from opsplane.agent.collectors.base import Collector
from opsplane.agent.config import LiveConfig
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.streams import METRICS, encode_points
from opsplane.protocol.session import AgentConfig
from opsplane.protocol.telemetry import AGENT_JOB, MetricPoint
from opsplane.protocol.thresholds import ThresholdWatch

log = structlog.get_logger(__name__)

SeriesKey = tuple[ThresholdWatch, tuple[tuple[str, str], ...]]


def stored_labels(node_labels: dict[str, str], point: MetricPoint) -> dict[str, str]:
    """The labels the server stores `point` under, as far as watches match on them."""
    return {**node_labels, **point.labels, "job": point.labels.get("job") or AGENT_JOB}


class ThresholdChecker:
    """Samples watched series between ticks and spools the ones that crossed a threshold.

    Args:
        collectors: Those with a `sample(names, ts_ms)` method are asked; others are skipped.
        spool: Where crossings go (the metrics stream, like the ticks).
        config: Supplies the watches, the node labels and the check interval.
        clock: Wall clock in Unix seconds (injectable for tests).
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        spool: AsyncSpool,
        config: LiveConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.collectors = collectors
        self.spool = spool
        self.config = config
        self.clock = clock
        self.lock = asyncio.Lock()
        # The collection tick waited for: once it is due, checks leave it the turn, since
        # a point stamped later than the tick must not be spooled before it.
        self.next_tick = float("inf")
        self.checks = 0
        self.crossings = 0
        self._sides: dict[SeriesKey, tuple[bool, ...]] = {}
        self._watched: AgentConfig | None = None
        self._by_metric: dict[str, list[ThresholdWatch]] = {}
        self._failing: str | None = None

    async def run(self) -> None:
        while True:
            current = self.config.current
            interval = current.threshold_check_interval
            if not current.threshold_watches or interval <= 0:
                await self.config.sleep(3600.0)  # until a config brings watches
                continue
            if await self.config.sleep(interval):
                continue  # new config: new watches or interval
            try:
                await self.check_once()
            except Exception as exc:  # a failing source must not end the checks; ticks run
                self._failed(exc)
            else:
                if self._failing is not None:
                    log.info("threshold checks work again")
                    self._failing = None

    def _failed(self, exc: Exception) -> None:
        # Logged when the failure starts or changes, not four times a second.
        text = f"{type(exc).__name__}: {exc}"
        if text != self._failing:
            log.exception("threshold check failed", error=text)
            self._failing = text

    async def check_once(self) -> int:
        """One check: sample the watched series now; returns the number of points spooled."""
        names = frozenset(self._index())
        if not names:
            return 0
        async with self.lock:
            now = self.clock()
            if now >= self.next_tick:
                return 0  # the tick is due and samples everything anyway
            ts_ms = round(now * 1000)
            points: list[MetricPoint] = []
            for collector in self.collectors:
                sample = getattr(collector, "sample", None)
                if sample is not None:
                    points.extend(await asyncio.to_thread(sample, names, ts_ms))
            crossed = self.observe(points)
            if crossed:
                await self.spool.append(METRICS, encode_points(crossed), len(crossed))
                self.crossings += len(crossed)
        self.checks += 1
        return len(crossed)

    def observe(self, points: Iterable[MetricPoint]) -> list[MetricPoint]:
        """Note the side of every watched point; returns those whose side changed (or is new)."""
        by_metric = self._index()
        if not by_metric:
            return []
        node_labels = self.config.current.labels
        crossed: list[MetricPoint] = []
        for point in points:
            watches = by_metric.get(point.name)
            if not watches:
                continue
            labels = stored_labels(node_labels, point)
            series = tuple(sorted(point.labels.items()))
            changed = False
            for watch in watches:
                if not watch.selects(point.name, labels):
                    continue
                key = (watch, series)
                side = watch.side(point.value)
                if self._sides.get(key) != side:
                    self._sides[key] = side
                    changed = True
            if changed:
                crossed.append(point)
        return crossed

    def _index(self) -> dict[str, list[ThresholdWatch]]:
        """Watches by metric name, rebuilt (and stale sides dropped) when the config changes."""
        current = self.config.current
        if current is not self._watched:
            self._watched = current
            self._by_metric = {}
            if current.threshold_check_interval > 0:
                for watch in current.threshold_watches:
                    self._by_metric.setdefault(watch.metric, []).append(watch)
            # A changed watch (say, a new threshold) starts over: its series are reported
            # again at their next sample; with checks off, nothing is kept.
            keep = {w for ws in self._by_metric.values() for w in ws}
            self._sides = {k: v for k, v in self._sides.items() if k[0] in keep}
        return self._by_metric
