"""Where agent metric batches land.

`MetricSink` is the small interface the rest of the server uses (the fleet pages read
`window` and `latest`, the link's batches arrive through `write`). `TSDBSink` implements it
over the TSDB: each agent point becomes a sample of the series

    point labels + node operator labels + {__name__, node, node_id, job}

where the reserved names win over everything and a point's own labels win over its node's.
`job` is "opsplane-agent" for the agent's own points and the target's job for points it
scraped from a local endpoint.
`window`/`latest` select by `node_id` and read the in-memory head only (they are sync).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from opsplane.protocol.telemetry import AGENT_JOB, MetricPoint
from opsplane.server.bus.subjects import NodeRef
from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.tsdb.registry import NO_TS
from opsplane.server.metrics.tsdb.samples import merge
from opsplane.server.metrics.tsdb.tsdb import TSDB

RESERVED = ("__name__", "job", "node", "node_id")


@dataclass(frozen=True)
class SeriesWindow:
    name: str
    labels: dict[str, str]
    points: list[tuple[int, float]]


class MetricSink(Protocol):
    async def write(self, node: NodeRef, points: Sequence[MetricPoint]) -> None: ...

    def window(
        self, node_id: str, *, names: Iterable[str] | None, since_ms: int
    ) -> list[SeriesWindow]: ...

    def latest(self, node_id: str, *, names: Iterable[str] | None = None) -> list[SeriesWindow]: ...

    def forget(self, node_id: str) -> None: ...


def agent_labels(node: NodeRef, point: MetricPoint) -> dict[str, str]:
    """The stored label set of an agent point (see the module docstring for precedence)."""
    return {
        **node.labels,
        **point.labels,
        "__name__": point.name,
        # Scraped points carry their target's job; the agent's own carry none.
        "job": point.labels.get("job") or AGENT_JOB,
        "node": node.name,
        "node_id": node.id,
    }


@dataclass
class _NodeCache:
    """Series ids of one node's points, valid while the node's name and labels stay put."""

    name: str
    labels: dict[str, str]
    ids: dict[tuple[str, tuple[tuple[str, str], ...]], int] = field(default_factory=dict)


class TSDBSink:
    """The spine's MetricSink over the TSDB (the embedded one, or the remote backend's)."""

    def __init__(self, tsdb: TSDB) -> None:
        self.tsdb = tsdb
        self._nodes: dict[str, _NodeCache] = {}

    async def write(self, node: NodeRef, points: Sequence[MetricPoint]) -> None:
        if not points:
            return
        cache = self._cache(node)
        ids = np.empty(len(points), dtype=np.int64)
        for index, point in enumerate(points):
            key = (point.name, tuple(point.labels.items()))
            series_id = cache.ids.get(key)
            if series_id is None:
                series_id = cache.ids[key] = self.tsdb.resolve(agent_labels(node, point))
            ids[index] = series_id
        count = len(points)
        timestamps = np.fromiter((p.ts_ms for p in points), dtype=np.int64, count=count)
        values = np.fromiter((p.value for p in points), dtype=np.float64, count=count)
        await self.tsdb.commit(ids, timestamps, values)

    def _cache(self, node: NodeRef) -> _NodeCache:
        cache = self._nodes.get(node.id)
        if cache is None or cache.name != node.name or cache.labels != node.labels:
            cache = self._nodes[node.id] = _NodeCache(node.name, dict(node.labels))
        return cache

    def _node_series(self, node_id: str, names: Iterable[str] | None) -> list[int]:
        ids = self.tsdb.registry.match([LabelMatcher("node_id", "=", node_id)])
        if names is not None:
            wanted = set(names)
            ids = {i for i in ids if self.tsdb.registry.labels(i)["__name__"] in wanted}
        return sorted(ids)

    def _own_labels(self, node_id: str, series_id: int) -> dict[str, str]:
        """The labels the agent sent: without the reserved ones and the node's own labels."""
        cache = self._nodes.get(node_id)
        node_labels = cache.labels if cache is not None else {}
        return {
            k: v
            for k, v in self.tsdb.registry.labels(series_id).items()
            if k not in RESERVED and node_labels.get(k) != v
        }

    def window(
        self, node_id: str, *, names: Iterable[str] | None, since_ms: int
    ) -> list[SeriesWindow]:
        ids = self._node_series(node_id, names)
        pieces = self.tsdb.head.read(ids, since_ms, 2**62)
        out = []
        for series_id in ids:
            samples = merge(pieces.get(series_id, []))
            out.append(
                SeriesWindow(
                    self.tsdb.registry.labels(series_id)["__name__"],
                    self._own_labels(node_id, series_id),
                    list(zip(samples.timestamps.tolist(), samples.values.tolist(), strict=True)),
                )
            )
        return out

    def latest(self, node_id: str, *, names: Iterable[str] | None = None) -> list[SeriesWindow]:
        stats = self.tsdb.registry.stats
        out = []
        for series_id in self._node_series(node_id, names):
            ts = int(stats.last_ts[series_id])
            if ts != NO_TS:
                out.append(
                    SeriesWindow(
                        self.tsdb.registry.labels(series_id)["__name__"],
                        self._own_labels(node_id, series_id),
                        [(ts, float(stats.last_value[series_id]))],
                    )
                )
        return out

    def forget(self, node_id: str) -> None:
        self._nodes.pop(node_id, None)
        self.tsdb.forget_series(set(self._node_series(node_id, None)))
