"""The QueryBackend that answers from our own store: the PromQL engine over a Queryable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsplane.server.metrics import remote_write
from opsplane.server.metrics.model import LabelMatcher, Queryable, QueryError
from opsplane.server.metrics.promql import Engine, EngineOptions
from opsplane.server.metrics.promql.ast import VectorSelector, parse

MIN_MS = -(2**62)
"""No `start`: from the beginning of time (Prometheus uses its own min/max time likewise)."""
MAX_MS = 2**62


@dataclass(frozen=True)
class MetricMetadata:
    type: str
    help: str
    unit: str = ""


@dataclass
class MetadataRegistry:
    """Metric family metadata (type, help, unit) as senders declared it; empty if unknown."""

    families: dict[str, list[MetricMetadata]] = field(default_factory=dict)

    def record(self, family: str, metadata: MetricMetadata) -> None:
        known = self.families.setdefault(family, [])
        if metadata not in known:
            known.append(metadata)

    def record_many(self, items: Iterable[tuple[str, MetricMetadata]]) -> None:
        for family, metadata in items:
            self.record(family, metadata)

    def record_remote_write(self, metadata: Iterable[remote_write.MetricMetadata]) -> None:
        """Keep what a remote-write sender declared (call it with `WriteRequest.metadata`)."""
        for item in metadata:
            entry = MetricMetadata(item.type, item.help, item.unit)
            self.record(item.metric_family_name, entry)


def _ms(seconds: float | None, default: int) -> int:
    return default if seconds is None else round(seconds * 1000)


def parse_series_selectors(match: Sequence[str]) -> list[list[LabelMatcher]]:
    """`match[]` values: each must be a plain series selector such as `up{job="api"}`."""
    sets = []
    for text in match:
        try:
            node = parse(text)
        except QueryError as exc:
            raise QueryError(f'invalid parameter "match[]": {exc}') from exc
        if not isinstance(node, VectorSelector) or node.offset_ms or node.at is not None:
            raise QueryError(f'invalid parameter "match[]": {text!r} is not a series selector')
        sets.append(list(node.matchers))
    return sets


class LocalQueryBackend:
    """Answers the Prometheus HTTP API from a Queryable (the embedded TSDB)."""

    def __init__(
        self,
        queryable: Queryable,
        *,
        options: EngineOptions | None = None,
        metadata: MetadataRegistry | None = None,
    ) -> None:
        self.queryable = queryable
        self.engine = Engine(queryable, options)
        self.metadata_registry = metadata or MetadataRegistry()

    async def instant_query(self, expr: str, time_s: float, *, timeout_s: float) -> dict[str, Any]:
        return await self.engine.instant_query(expr, round(time_s * 1000), timeout_s=timeout_s)

    async def range_query(
        self, expr: str, start_s: float, end_s: float, step_s: float, *, timeout_s: float
    ) -> dict[str, Any]:
        return await self.engine.range_query(
            expr,
            round(start_s * 1000),
            round(end_s * 1000),
            round(step_s * 1000),
            timeout_s=timeout_s,
        )

    async def label_names(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        sets = parse_series_selectors(match)
        names = await self.queryable.label_names(sets, _ms(start_s, MIN_MS), _ms(end_s, MAX_MS))
        return sorted(names)

    async def label_values(
        self, name: str, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        sets = parse_series_selectors(match)
        start, end = _ms(start_s, MIN_MS), _ms(end_s, MAX_MS)
        return sorted(await self.queryable.label_values(name, sets, start, end))

    async def series(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[dict[str, str]]:
        sets = parse_series_selectors(match)
        found = await self.queryable.series(sets, _ms(start_s, MIN_MS), _ms(end_s, MAX_MS))
        return sorted(found, key=lambda labels: sorted(labels.items()))

    async def metadata(self, metric: str | None, limit: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for family, entries in sorted(self.metadata_registry.families.items()):
            if metric and family != metric:
                continue
            if limit is not None and 0 <= limit <= len(out):
                break
            out[family] = [{"type": m.type, "help": m.help, "unit": m.unit} for m in entries]
        return out
