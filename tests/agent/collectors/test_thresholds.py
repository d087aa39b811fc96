"""Threshold checks between ticks: a crossing is spooled at once, nothing else is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
import structlog

from opsplane.agent.collectors.host import HostCollector
from opsplane.agent.collectors.loop import CollectionLoop
from opsplane.agent.collectors.thresholds import ThresholdChecker
from opsplane.agent.config import ConfigError, LiveConfig, validate
from opsplane.agent.spool import AsyncSpool
from opsplane.protocol.session import AgentConfig
from opsplane.protocol.telemetry import MetricPoint
from opsplane.protocol.thresholds import Matcher, ThresholdWatch
from tests.agent.collectors.test_host import FakeHost, cpu
from tests.agent.fakeserver import eventually

HOT = ThresholdWatch("1", "temp", ">", (50.0,))


class Dial:
    """A source whose value the test turns; `sample` is what checks call, `collect` ticks."""

    name = "dial"

    def __init__(self) -> None:
        self.value = 0.0
        self.labels = {"zone": "a"}
        self.sampled: list[frozenset[str]] = []

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        return [
            MetricPoint("temp", self.labels, ts_ms, self.value),
            MetricPoint("other", {}, ts_ms, 1),
        ]

    def sample(self, names: frozenset[str], ts_ms: int) -> list[MetricPoint]:
        self.sampled.append(names)
        return [p for p in self.collect(ts_ms) if p.name in names]

    def problems(self) -> list[str]:
        return []


@pytest.fixture
async def spool(tmp_path: Path) -> AsyncIterator[AsyncSpool]:
    spool = await AsyncSpool.open(tmp_path / "spool.sqlite3", max_bytes=10**6)
    yield spool
    await spool.close()


async def spooled(spool: AsyncSpool) -> list[list[MetricPoint]]:
    records = await spool.read("metrics", 0, max_items=10**6, max_records=1000)
    return [msgspec.json.decode(r.payload, type=list[MetricPoint]) for r in records]


def watching(*watches: ThresholdWatch, interval: float = 0.25, **more: object) -> LiveConfig:
    return LiveConfig(
        AgentConfig(threshold_check_interval=interval, threshold_watches=watches, **more)  # type: ignore[arg-type]
    )


async def test_only_crossings_are_spooled(spool: AsyncSpool) -> None:
    dial = Dial()
    checker = ThresholdChecker([dial], spool, watching(HOT))
    sent = []
    for value in (10, 20, 60, 70, 40, 40, 55):
        dial.value = value
        sent.append(await checker.check_once())
    # First sight, then each move across 50: 10 (new), 60, 40, 55.
    assert sent == [1, 0, 1, 0, 1, 0, 1]
    values = [[p.value for p in record] for record in await spooled(spool)]
    assert values == [[10], [60], [40], [55]]
    assert dial.sampled[0] == frozenset({"temp"})  # only what the watches read


async def test_a_tick_counts_as_reported(spool: AsyncSpool) -> None:
    dial = Dial()
    config = watching(HOT, metrics_interval=60)
    checker = ThresholdChecker([dial], spool, config)
    ticks = CollectionLoop([dial], spool, config, checker=checker)
    dial.value = 80
    await ticks.collect_once(1_000.0)
    assert await checker.check_once() == 0  # the tick already carried the hot value
    dial.value = 10
    assert await checker.check_once() == 1


async def test_matchers_see_node_labels_and_the_job(spool: AsyncSpool) -> None:
    dial = Dial()
    watch = ThresholdWatch(
        "1",
        "temp",
        ">",
        (50.0,),
        (
            Matcher("env", "=", "prod"),
            Matcher("job", "=", "opsplane-agent"),
            Matcher("zone", "=~", "a|b"),
        ),
    )
    config = watching(watch, labels={"env": "prod", "zone": "z"})
    checker = ThresholdChecker([dial], spool, config)
    dial.value = 90
    assert await checker.check_once() == 1  # the point's zone "a" wins over the node's "z"
    await config.apply(
        AgentConfig(
            threshold_check_interval=0.25, threshold_watches=(watch,), labels={"env": "dev"}
        )
    )
    dial.value = 10
    assert await checker.check_once() == 0


async def test_a_due_tick_goes_first(spool: AsyncSpool) -> None:
    dial = Dial()
    clock = [1_000.0]
    checker = ThresholdChecker([dial], spool, watching(HOT), clock=lambda: clock[0])
    checker.next_tick = 1_000.0  # due: a check now would spool a point stamped after it
    dial.value = 90
    assert await checker.check_once() == 0
    assert await spooled(spool) == []
    clock[0] = 999.5
    assert await checker.check_once() == 1


async def test_checks_follow_the_config(spool: AsyncSpool) -> None:
    dial = Dial()
    config = watching(HOT, interval=0.1)
    checker = ThresholdChecker([dial], spool, config)
    task = asyncio.create_task(checker.run())
    try:
        await eventually(lambda: checker.checks >= 3)
        dial.value = 99
        await eventually(lambda: checker.crossings >= 2)  # first sight, then the crossing
        # Off: no more checks (ticks carry on alone).
        await config.apply(AgentConfig(threshold_check_interval=0, threshold_watches=(HOT,)))
        await asyncio.sleep(0.12)
        checks = checker.checks
        await asyncio.sleep(0.3)
        assert checker.checks == checks
        # Back on with a changed threshold: the series is reported again under it.
        moved = ThresholdWatch("1", "temp", ">", (150.0,))
        await config.apply(AgentConfig(threshold_check_interval=0.1, threshold_watches=(moved,)))
        await eventually(lambda: checker.crossings >= 3)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [p.value for r in await spooled(spool) for p in r] == [0, 99, 99]


def test_config_refuses_a_check_interval_that_would_spin() -> None:
    assert validate(AgentConfig(threshold_check_interval=0))
    assert validate(AgentConfig(threshold_check_interval=0.25))
    with pytest.raises(ConfigError, match="threshold_check_interval"):
        validate(AgentConfig(threshold_check_interval=0.001))


class CountingHost(FakeHost):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def cpu_times(self):  # type: ignore[no-untyped-def]
        self.calls.append("cpu")
        return super().cpu_times()

    def virtual_memory(self):  # type: ignore[no-untyped-def]
        self.calls.append("memory")
        return super().virtual_memory()

    def disk_partitions(self):  # type: ignore[no-untyped-def]
        self.calls.append("filesystem")
        return super().disk_partitions()


def test_host_sample_reads_only_the_watched_sections() -> None:
    host = CountingHost()
    collector = HostCollector(host)
    points = collector.sample(frozenset({"host_memory_utilization_ratio"}), 5)
    assert [(p.name, p.value) for p in points] == [("host_memory_utilization_ratio", 0.75)]
    assert host.calls == ["memory"]


def test_host_cpu_between_ticks_is_over_a_tick_long_sliding_window() -> None:
    host, now = FakeHost(), [0.0]
    collector = HostCollector(host, monotonic=lambda: now[0])
    names = frozenset({"host_cpu_utilization_ratio"})

    def total(points: list[MetricPoint]) -> float:
        return next(p.value for p in points if p.labels == {"cpu": "total"})

    def advance(seconds: float, busy_share: float) -> None:
        now[0] += seconds
        host.cpus = [
            cpu(c.user + seconds * busy_share, c.idle + seconds * (1 - busy_share))
            for c in host.cpus
        ]

    collector.collect(0)
    for _ in range(20):  # checks every 0.5 s, busy 10 %
        advance(0.5, 0.1)
        assert collector.sample(names, 1) == []  # no tick-length window known yet
    collector.collect(1)  # ticks every 10 s
    for _ in range(8):  # 4 s of checks, busy 100 %
        advance(0.5, 1.0)
        collector.sample(names, 2)
    # The window is the last 10 s: 6 s at 10 % and 4 s at 100 %.
    advance(0.5, 1.0)
    assert total(collector.sample(names, 3)) == pytest.approx(
        (5.5 * 0.1 + 4.5 * 1.0) / 10, abs=0.06
    )


class Flaky(Dial):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def sample(self, names: frozenset[str], ts_ms: int) -> list[MetricPoint]:
        if self.failures > 0:
            self.failures -= 1
            raise OSError("sensor unplugged")
        return super().sample(names, ts_ms)


async def test_a_failing_source_is_logged_once_and_checks_go_on(spool: AsyncSpool) -> None:
    flaky = Flaky(failures=5)
    checker = ThresholdChecker([flaky], spool, watching(HOT, interval=0.1))
    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(checker.run())
        try:
            await eventually(lambda: checker.crossings >= 1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    events = [e["event"] for e in logs]
    assert events.count("threshold check failed") == 1
    assert "threshold checks work again" in events
