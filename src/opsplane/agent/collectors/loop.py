"""The collection loop: every metrics interval, one tick, one spool record.

Ticks are aligned to the interval on the wall clock (10 s -> :00, :10, ...), so samples of
all agents line up and every point of a tick carries the same timestamp.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import structlog

from opsplane.agent.collectors.base import Collector
from opsplane.agent.config import LiveConfig
from opsplane.agent.spool import AsyncSpool
from opsplane.agent.streams import METRICS, encode_points
from opsplane.protocol.telemetry import MetricPoint

if TYPE_CHECKING:
    from opsplane.agent.collectors.thresholds import ThresholdChecker

log = structlog.get_logger(__name__)


def next_tick(now: float, interval: float) -> float:
    """The first multiple of `interval` strictly after `now`."""
    return (math.floor(now / interval) + 1) * interval


class CollectionLoop:
    """Runs the collectors on aligned ticks and appends each tick to the metrics spool.

    Args:
        collectors: Run in order, each in a worker thread (psutil scans block).
        spool: Where each tick's points go, as one record.
        config: Supplies `metrics_interval`; a change re-aligns at once.
        clock: Wall clock in Unix seconds (injectable for tests).
        checker: Threshold checks between ticks; each tick's points are shown to it (so a
            side it already reported is not reported again) under its lock.
    """

    def __init__(
        self,
        collectors: Sequence[Collector],
        spool: AsyncSpool,
        config: LiveConfig,
        *,
        clock: Callable[[], float] = time.time,
        checker: ThresholdChecker | None = None,
    ) -> None:
        self.collectors = collectors
        self.checker = checker
        self.spool = spool
        self.config = config
        self.clock = clock
        self.ticks = 0
        self._last_tick = 0.0
        self._problems: list[str] = []

    async def run(self) -> None:
        while True:
            tick = next_tick(self.clock(), self.config.current.metrics_interval)
            if self.checker is not None:
                self.checker.next_tick = tick
            if await self._sleep_until(tick):
                continue  # new config: realign to the new interval
            if tick <= self._last_tick:
                continue  # the clock stepped back: never emit a timestamp twice
            self._last_tick = tick
            await self.collect_once(tick)

    async def collect_once(self, tick: float) -> int:
        """Collect one tick stamped `tick`; returns the number of points spooled."""
        ts_ms = round(tick * 1000)
        points: list[MetricPoint] = []
        problems: list[str] = []
        checker = self.checker
        async with checker.lock if checker is not None else contextlib.nullcontext():
            for collector in self.collectors:
                points.extend(await asyncio.to_thread(collector.collect, ts_ms))
                problems.extend(collector.problems())
            if checker is not None:
                checker.observe(points)
            if points:
                await self.spool.append(METRICS, encode_points(points), len(points))
        self._report(problems)
        self.ticks += 1
        return len(points)

    def problems(self) -> list[str]:
        return list(self._problems)

    async def _sleep_until(self, when: float) -> bool:
        # Re-check the wall clock after each sleep: the loop's timer is monotonic.
        while (remaining := when - self.clock()) > 0:
            if await self.config.sleep(remaining):
                return True
        return False

    def _report(self, problems: list[str]) -> None:
        # Log changes only, not every tick of a lasting problem.
        if problems and problems != self._problems:
            log.warning("collector problems", problems=problems)
        elif self._problems and not problems:
            log.info("collector problems cleared")
        self._problems = problems
