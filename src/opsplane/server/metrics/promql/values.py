"""The values an expression evaluates to, over all evaluation steps at once.

An instant vector over T steps is a (series x steps) array of values plus a mask of which
series has a sample at which step: one numpy operation then serves every step of a range
query. A range vector keeps each series' raw samples and, per step, where its window ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.labels import LabelSet

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


@dataclass
class Scalar:
    values: Floats
    """One value per step."""


@dataclass
class String:
    value: str


@dataclass
class InstantVector:
    labels: list[LabelSet]
    values: Floats
    """Shape (series, steps)."""
    present: Mask
    """Shape (series, steps): does the series have a sample at that step?"""

    @classmethod
    def empty(cls, steps: int) -> InstantVector:
        return cls([], np.zeros((0, steps)), np.zeros((0, steps), dtype=bool))

    @property
    def steps(self) -> int:
        return int(self.values.shape[1])

    def __len__(self) -> int:
        return len(self.labels)

    def select_rows(self, rows: Sequence[int] | npt.NDArray[np.intp]) -> InstantVector:
        index = np.asarray(rows, dtype=np.intp)
        return InstantVector(
            [self.labels[i] for i in index], self.values[index], self.present[index]
        )

    def compact(self) -> InstantVector:
        """Drop series that have no sample at any step."""
        keep = np.flatnonzero(self.present.any(axis=1))
        if len(keep) == len(self.labels):
            return self
        return self.select_rows(keep)


@dataclass
class RangeVector:
    labels: list[LabelSet]
    timestamps: list[Ints]
    """Per series, sample times (ms), ascending, staleness markers removed."""
    values: list[Floats]
    ends: Ints
    """Per step, the inclusive end of the window (ms); the window is [end - range, end]."""
    range_ms: int

    def window_bounds(self, series: int) -> tuple[Ints, Ints]:
        """Per step, the index of the window's first sample and one past its last."""
        ts = self.timestamps[series]
        lo = np.searchsorted(ts, self.ends - self.range_ms, side="left").astype(np.int64)
        hi = np.searchsorted(ts, self.ends, side="right").astype(np.int64)
        return lo, hi


Value = Scalar | String | InstantVector | RangeVector


def merge_same_labels(vector: InstantVector) -> InstantVector:
    """Join series whose labels became equal; refuse if two have a sample at the same step.

    Prometheus assembles a range result step by step, so two inputs that end up with equal
    labels at disjoint steps form one output series, while a clash within one step is an
    error.
    """
    vector = vector.compact()
    rows: dict[LabelSet, list[int]] = {}
    for i, labels in enumerate(vector.labels):
        rows.setdefault(labels, []).append(i)
    if len(rows) == len(vector.labels):
        return vector
    labels_out: list[LabelSet] = []
    values = np.zeros((len(rows), vector.steps))
    present = np.zeros((len(rows), vector.steps), dtype=bool)
    for out, (labels, members) in enumerate(rows.items()):
        if len(members) > 1 and (vector.present[members].sum(axis=0) > 1).any():
            raise QueryError(DUPLICATE_LABELSET, error_type="execution")
        labels_out.append(labels)
        for i in members:
            mask = vector.present[i]
            values[out, mask] = vector.values[i, mask]
            present[out] |= mask
    return InstantVector(labels_out, values, present)


def scalar_of_vector(vector: InstantVector) -> Scalar:
    """`scalar(v)`: the single sample's value, NaN when there are none or several."""
    if not vector.labels:
        return Scalar(np.full(vector.steps, np.nan))
    count = vector.present.sum(axis=0)
    first = vector.values[vector.present.argmax(axis=0), np.arange(vector.steps)]
    return Scalar(np.where(count == 1, first, np.nan))
