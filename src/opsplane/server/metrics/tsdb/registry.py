"""Series registry: label set <-> series id, with an inverted index for matchers.

Ids are small dense integers assigned here (one embedded TSDB per database: the scale-out
deployment remote-writes instead), so per-series state elsewhere lives in numpy arrays
indexed by id. Postings map `label name -> value -> ids`; a matcher is evaluated once per
distinct label *value*, never per series, then the id sets are intersected.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array

LabelKey = tuple[tuple[str, str], ...]
"""A label set in canonical form: pairs sorted by name, empty values dropped."""

NO_TS = np.iinfo(np.int64).min


def canonical(labels: Mapping[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


class SeriesStats:
    """Per-series first/last timestamp and last value, as arrays indexed by series id."""

    def __init__(self, capacity: int = 1024) -> None:
        self.first_ts: Int64Array = np.full(capacity, np.iinfo(np.int64).max, dtype=np.int64)
        self.last_ts: Int64Array = np.full(capacity, NO_TS, dtype=np.int64)
        self.last_value: Float64Array = np.full(capacity, np.nan, dtype=np.float64)
        self.alive: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)

    def ensure(self, size: int) -> None:
        capacity = len(self.first_ts)
        if size <= capacity:
            return
        grow = max(size, capacity * 2) - capacity
        self.first_ts = np.concatenate(
            [self.first_ts, np.full(grow, np.iinfo(np.int64).max, dtype=np.int64)]
        )
        self.last_ts = np.concatenate([self.last_ts, np.full(grow, NO_TS, dtype=np.int64)])
        self.last_value = np.concatenate([self.last_value, np.full(grow, np.nan)])
        self.alive = np.concatenate([self.alive, np.zeros(grow, dtype=bool)])

    def observe(self, ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> None:
        """Record samples: vectorized, a batch with several samples per series included."""
        np.minimum.at(self.first_ts, ids, timestamps)
        order = np.argsort(timestamps, kind="stable")
        ids, timestamps, values = ids[order], timestamps[order], values[order]
        newer = timestamps >= self.last_ts[ids]
        # Fancy assignment keeps the last write per id: the newest, as the batch is sorted.
        self.last_ts[ids[newer]] = timestamps[newer]
        self.last_value[ids[newer]] = values[newer]

    def overlapping(self, ids: Int64Array, start_ms: int, end_ms: int) -> Int64Array:
        """The ids whose [first, last] sample range meets [start_ms, end_ms]."""
        keep = (self.first_ts[ids] <= end_ms) & (self.last_ts[ids] >= start_ms)
        return ids[keep]


class SeriesRegistry:
    """Every known series: its labels, its id, and the postings index."""

    def __init__(self) -> None:
        self._labels: dict[int, dict[str, str]] = {}
        self._ids: dict[LabelKey, int] = {}
        # Senders repeat the same label order: remember the raw order too (a fast path that
        # skips sorting; bounded by the orders actually seen per series).
        self._aliases: dict[tuple[tuple[str, str], ...], int] = {}
        self._postings: dict[str, dict[str, set[int]]] = {}
        self.next_id = 1
        self.unpersisted: list[int] = []
        self.stats = SeriesStats()

    def __len__(self) -> int:
        return len(self._labels)

    def __contains__(self, series_id: int) -> bool:
        return series_id in self._labels

    def labels(self, series_id: int) -> dict[str, str]:
        return self._labels[series_id]

    def ids(self) -> Iterator[int]:
        return iter(self._labels)

    def lookup(self, labels: Mapping[str, str]) -> int | None:
        raw = tuple(labels.items())
        found = self._aliases.get(raw)
        if found is None:
            found = self._ids.get(canonical(labels))
        return found

    def get_or_create(self, labels: Mapping[str, str]) -> tuple[int, bool]:
        """The series id for a label set, and whether it was created by this call."""
        raw = tuple(labels.items())
        found = self._aliases.get(raw)
        if found is not None:
            return found, False
        key = canonical(labels)
        found = self._ids.get(key)
        created = found is None
        if found is None:
            found = self.next_id
            self.add(found, dict(key), persisted=False)
        if len(self._aliases) < 4 * len(self._labels) + 1024:
            self._aliases[raw] = found
        return found, created

    def add(self, series_id: int, labels: dict[str, str], *, persisted: bool) -> None:
        """Register a series with a known id (loading from the database or the WAL)."""
        if series_id in self._labels:
            return
        self._labels[series_id] = labels
        self._ids[canonical(labels)] = series_id
        for name, value in labels.items():
            self._postings.setdefault(name, {}).setdefault(value, set()).add(series_id)
        self.next_id = max(self.next_id, series_id + 1)
        self.stats.ensure(self.next_id)
        self.stats.alive[series_id] = True
        if not persisted:
            self.unpersisted.append(series_id)

    def remove(self, ids: Iterable[int]) -> None:
        gone = set(ids)
        for series_id in gone:
            labels = self._labels.pop(series_id, None)
            if labels is None:
                continue
            self.stats.alive[series_id] = False
            self._ids.pop(canonical(labels), None)
            for name, value in labels.items():
                values = self._postings[name]
                values[value].discard(series_id)
                if not values[value]:
                    del values[value]
                if not values:
                    del self._postings[name]
        self._aliases = {k: v for k, v in self._aliases.items() if v not in gone}

    # --- matching ----------------------------------------------------------------------

    def match(self, matchers: Sequence[LabelMatcher]) -> set[int]:
        """Ids of the series satisfying every matcher (a label absent counts as "")."""
        positive = [m for m in matchers if not m.matches("")]
        negative = [m for m in matchers if m.matches("")]
        if positive:
            sets = sorted((self._matching(m) for m in positive), key=len)
            result = set(sets[0])
            for other in sets[1:]:
                result &= other
        else:
            result = set(self._labels)
        for matcher in negative:
            if not result:
                break
            result -= self._refused(matcher)
        return result

    def _matching(self, matcher: LabelMatcher) -> set[int]:
        """Series having a value of the label that the matcher accepts."""
        values = self._postings.get(matcher.name, {})
        if matcher.op == "=":
            return values.get(matcher.value, set())
        found: set[int] = set()
        for value, ids in values.items():
            if matcher.matches(value):
                found |= ids
        return found

    def _refused(self, matcher: LabelMatcher) -> set[int]:
        """Series having a value of the label that the matcher refuses."""
        refused: set[int] = set()
        for value, ids in self._postings.get(matcher.name, {}).items():
            if not matcher.matches(value):
                refused |= ids
        return refused

    def match_any(self, groups: Sequence[Sequence[LabelMatcher]]) -> set[int]:
        """Union over matcher groups (the API's repeated `match[]`); no group = every series."""
        if not groups:
            return set(self._labels)
        found: set[int] = set()
        for group in groups:
            found |= self.match(group)
        return found

    def in_range(self, ids: Iterable[int], start_ms: int, end_ms: int) -> list[int]:
        array = np.fromiter(ids, dtype=np.int64)
        return sorted(self.stats.overlapping(array, start_ms, end_ms).tolist())

    def label_names(self) -> list[str]:
        return sorted(self._postings)

    def label_values(self, name: str) -> list[str]:
        return sorted(self._postings.get(name, {}))
