"""An in-memory Queryable for engine tests: series with sorted samples, matched in Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from opsplane.server.metrics.model import LabelMatcher, SeriesData


def _matches(labels: Mapping[str, str], matchers: Sequence[LabelMatcher]) -> bool:
    return all(m.matches(labels.get(m.name)) for m in matchers)


class MemoryQueryable:
    def __init__(self) -> None:
        self._series: dict[tuple[tuple[str, str], ...], dict[int, float]] = {}

    def add(self, labels: Mapping[str, str], samples: Iterable[tuple[int, float]]) -> None:
        key = tuple(sorted(labels.items()))
        self._series.setdefault(key, {}).update(dict(samples))

    def _selected(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]:
        out = []
        for key, samples in sorted(self._series.items()):
            labels = dict(key)
            if not _matches(labels, matchers):
                continue
            ts = np.array(sorted(t for t in samples if start_ms <= t <= end_ms), dtype=np.int64)
            if len(ts) == 0:
                continue
            values = np.array([samples[int(t)] for t in ts], dtype=np.float64)
            out.append(SeriesData(labels, ts, values))
        return out

    async def select(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]:
        return self._selected(matchers, start_ms, end_ms)

    def _union(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        groups = match or [[]]
        found: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        for matchers in groups:
            for data in self._selected(matchers, start_ms, end_ms):
                found[tuple(sorted(data.labels.items()))] = dict(data.labels)
        return [found[k] for k in sorted(found)]

    async def label_names(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        return sorted({k for s in self._union(match, start_ms, end_ms) for k in s})

    async def label_values(
        self, name: str, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        return sorted({s[name] for s in self._union(match, start_ms, end_ms) if s.get(name)})

    async def series(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return self._union(match, start_ms, end_ms)
