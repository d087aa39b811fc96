from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from opsplane.agent.collectors.loop import CollectionLoop, next_tick
from opsplane.agent.config import LiveConfig
from opsplane.agent.spool import AsyncSpool
from opsplane.protocol.session import AgentConfig
from opsplane.protocol.telemetry import MetricPoint
from tests.agent.fakeserver import eventually


class CountingCollector:
    name = "count"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        self.calls.append(ts_ms)
        return [MetricPoint("a", {}, ts_ms, 1.0), MetricPoint("b", {"x": "y"}, ts_ms, 2.0)]

    def problems(self) -> list[str]:
        return ["count is tired"] if len(self.calls) > 2 else []


def test_next_tick_is_aligned_and_strictly_later() -> None:
    assert next_tick(100.0, 10.0) == 110.0
    assert next_tick(101.3, 10.0) == 110.0
    assert next_tick(109.999, 10.0) == 110.0
    assert next_tick(12.34, 0.5) == 12.5


async def test_loop_spools_one_record_per_aligned_tick(tmp_path: Path) -> None:
    spool = await AsyncSpool.open(tmp_path / "spool.sqlite3", max_bytes=10**6)
    config = LiveConfig(AgentConfig(metrics_interval=0.05))
    collector = CountingCollector()
    loop = CollectionLoop([collector, collector], spool, config)
    task = asyncio.create_task(loop.run())
    try:
        await eventually(lambda: loop.ticks >= 4)
        # A longer interval applies at once, without restarting the loop.
        await config.apply(AgentConfig(metrics_interval=0.2))
        ticks = loop.ticks
        await asyncio.sleep(0.25)
        assert loop.ticks - ticks <= 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    records = await spool.read("metrics", 0, max_items=10**6, max_records=1000)
    assert len(records) == loop.ticks
    for record in records:
        points = msgspec.json.decode(record.payload, type=list[MetricPoint])
        assert record.count == len(points) == 4  # both collectors, one record
        assert len({p.ts_ms for p in points}) == 1
        assert points[0].ts_ms % 50 == 0
    stamps = [msgspec.json.decode(r.payload, type=list[MetricPoint])[0].ts_ms for r in records]
    assert stamps == sorted(set(stamps))
    assert loop.problems() == ["count is tired", "count is tired"]
    await spool.close()
