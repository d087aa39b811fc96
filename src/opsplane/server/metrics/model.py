"""The metrics domain's shared vocabulary: label matchers, series data, and the two seams.

- `Queryable` is what the PromQL engine reads from (the embedded TSDB implements it).
- `QueryBackend` is what the Prometheus HTTP API answers from: the local engine over a
  Queryable, or a remote Prometheus-compatible TSDB (`metrics.backend = "prometheus"`).
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

Labels = Mapping[str, str]
"""Series labels including `__name__`."""

STALE_NAN_BITS = 0x7FF0000000000002
"""Prometheus's staleness marker: a NaN with this exact bit pattern ends a series."""
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale(value: float) -> bool:
    return math.isnan(value) and struct.unpack("<Q", struct.pack("<d", value))[0] == STALE_NAN_BITS


MatchOp = Literal["=", "!=", "=~", "!~"]


@lru_cache(maxsize=4096)
def _anchored(pattern: str) -> re.Pattern[str]:
    # Prometheus anchors regex matchers at both ends. (A cached_property cannot live on a
    # slotted dataclass: this cache keeps LabelMatcher frozen and slotted.)
    return re.compile(f"^(?:{pattern})$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    name: str
    op: MatchOp
    value: str

    @property
    def _regex(self) -> re.Pattern[str]:
        return _anchored(self.value)

    def matches(self, value: str | None) -> bool:
        """Does a label value (None or "" = absent) satisfy this matcher?"""
        value = value or ""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = self._regex.match(value) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True, slots=True)
class SeriesData:
    """One series' samples in a time range, oldest first, timestamps in ms."""

    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


class Queryable(Protocol):
    async def select(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]:
        """Series matching all matchers, with samples in [start_ms, end_ms] (stale markers kept)."""

    async def label_names(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]: ...

    async def label_values(
        self, name: str, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]: ...

    async def series(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]: ...


class QueryError(Exception):
    """A query Prometheus would refuse; `error_type` is Prometheus's (bad_data, execution...)."""

    def __init__(self, message: str, *, error_type: str = "bad_data") -> None:
        super().__init__(message)
        self.error_type = error_type


class QueryBackend(Protocol):
    """Answers the Prometheus HTTP API; results are the `data` member of Prometheus's envelope."""

    async def instant_query(
        self, expr: str, time_s: float, *, timeout_s: float
    ) -> dict[str, Any]: ...

    async def range_query(
        self, expr: str, start_s: float, end_s: float, step_s: float, *, timeout_s: float
    ) -> dict[str, Any]: ...

    async def label_names(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]: ...

    async def label_values(
        self, name: str, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]: ...

    async def series(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[dict[str, str]]: ...

    async def metadata(self, metric: str | None, limit: int | None) -> dict[str, Any]: ...
