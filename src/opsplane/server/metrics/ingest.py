"""Bus consumer: agent metric batches into the MetricSink, with the node's labels attached."""

from __future__ import annotations

from typing import Any

from opsplane.server.bus.base import Bus
from opsplane.server.bus.subjects import INGEST_METRICS, IngestMetrics
from opsplane.server.metrics.sink import MetricSink
from opsplane.server.stream.hub import StreamHub


async def subscribe_ingest(bus: Bus, sink: MetricSink, hub: StreamHub) -> None:
    async def handle(subject: str, message: Any) -> None:
        assert isinstance(message, IngestMetrics)
        await sink.write(message.node, message.batch.points)
        hub.touch(f"node:{message.node.id}")

    await bus.subscribe(INGEST_METRICS, handle, group="metric-sink")
