"""Range-vector windows as (steps x samples) arrays, so a function sees all steps at once.

Each series' window at each step is gathered into one row of a padded matrix (`mask`
marks real samples). Rows are built in chunks so a long range with many steps never
allocates more than `MAX_CELLS` cells at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from opsplane.server.metrics.promql.context import EvalContext
from opsplane.server.metrics.promql.labels import LabelSet
from opsplane.server.metrics.promql.values import Floats, InstantVector, Ints, Mask, RangeVector

MAX_CELLS = 1 << 21


@dataclass
class Window:
    """Windows of one series at a subset of steps: row r is the window at step `steps[r]`."""

    values: Floats
    times: Ints
    mask: Mask
    count: Ints
    last_value: Floats
    last_time: Ints
    ends: Ints
    """The window's inclusive end (ms) per row; its start is `ends - range_ms`."""
    eval_times: Ints
    range_ms: int
    params: Sequence[Floats]
    """Scalar arguments of the function, per row."""

    def filled(self, fill: float) -> Floats:
        return np.where(self.mask, self.values, fill)

    @property
    def pair_mask(self) -> Mask:
        """Which (previous, current) neighbour pairs both lie in the window."""
        return self.mask[:, 1:]


WindowFunction = Callable[[Window], Floats]


def gather(
    ts: Ints, vs: Floats, lo: Ints, hi: Ints, steps: Ints, rv: RangeVector,
    eval_times: Ints, params: Sequence[Floats],
) -> Window:  # fmt: skip
    count = hi - lo
    width = max(int(count.max()), 1)
    offsets = np.arange(width)
    index = np.minimum(lo[:, None] + offsets[None, :], len(ts) - 1)
    last = hi - 1
    return Window(
        values=vs[index],
        times=ts[index],
        mask=offsets[None, :] < count[:, None],
        count=count,
        last_value=vs[last],
        last_time=ts[last],
        ends=rv.ends[steps],
        eval_times=eval_times[steps],
        range_ms=rv.range_ms,
        params=[p[steps] for p in params],
    )


def apply_over_windows(
    rv: RangeVector,
    fn: WindowFunction,
    *,
    ctx: EvalContext,
    eval_times: Ints,
    min_samples: int = 1,
    params: Sequence[Floats] = (),
    labels: Sequence[LabelSet] | None = None,
) -> InstantVector:
    """Evaluate `fn` on every window that holds at least `min_samples` samples."""
    steps_total = len(rv.ends)
    out = np.zeros((len(rv.labels), steps_total))
    present = np.zeros((len(rv.labels), steps_total), dtype=bool)
    for row in range(len(rv.labels)):
        ctx.check_deadline()
        ts, vs = rv.timestamps[row], rv.values[row]
        if len(ts) < min_samples:
            continue
        lo, hi = rv.window_bounds(row)
        steps = np.flatnonzero(hi - lo >= max(min_samples, 1))
        if len(steps) == 0:
            continue
        chunk = max(1, MAX_CELLS // max(int((hi - lo)[steps].max()), 1))
        for first in range(0, len(steps), chunk):
            part = steps[first : first + chunk]
            window = gather(ts, vs, lo[part], hi[part], part, rv, eval_times, params)
            out[row, part] = fn(window)
        present[row, steps] = True
    return InstantVector(list(labels if labels is not None else rv.labels), out, present)
