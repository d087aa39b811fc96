"""histogram_quantile over classic (`le`-labelled) buckets, all steps at once.

Per group of bucket series (same labels but `le`), at every step: the buckets present at
that step, sorted by bound, equal bounds merged, counts forced monotonic, then Prometheus's
linear interpolation inside the bucket where the rank falls.
"""

from __future__ import annotations

import re

import numpy as np

from opsplane.server.metrics.promql.labels import NAME, LabelSet, get, without
from opsplane.server.metrics.promql.registry import CallInput, implements
from opsplane.server.metrics.promql.values import Floats, InstantVector, Mask, merge_same_labels

# Go's strconv.ParseFloat accepts these; Python's float() would also take spaces and "1_0".
_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE
)


def parse_go_float(text: str) -> float | None:
    if not _GO_FLOAT.fullmatch(text):
        return None
    return float(text)


def _merge_equal_bounds(
    bounds: Floats, counts: Floats, present: Mask
) -> tuple[Floats, Floats, Mask]:
    unique = np.unique(bounds)
    if len(unique) == len(bounds):
        return bounds, counts, present
    merged = np.zeros((len(unique), counts.shape[1]))
    merged_present = np.zeros((len(unique), counts.shape[1]), dtype=bool)
    for row, bound in enumerate(bounds):
        at = int(np.searchsorted(unique, bound))
        merged[at] += np.where(present[row], counts[row], 0.0)
        merged_present[at] |= present[row]
    return unique, merged, merged_present


def bucket_quantile(q: Floats, bounds: Floats, counts: Floats, present: Mask) -> Floats:
    """One group's quantile per step; `bounds` ascending and unique, arrays (buckets, steps)."""
    n_buckets, steps = counts.shape
    rows = np.arange(n_buckets)[:, None]
    # Monotonic counts: NaN stays NaN and does not raise the running maximum.
    running = np.fmax.accumulate(np.where(present, counts, -np.inf), axis=0)
    mono = np.where(np.isnan(counts), np.nan, running)
    n_present = present.sum(axis=0)
    has_inf = (present[-1] & np.isposinf(bounds[-1])) if n_buckets else np.zeros(steps, bool)
    observations = np.where(has_inf, mono[-1], np.nan)
    rank = q * observations
    # Index of the previous present bucket, per bucket and step (-1 for none).
    last_seen = np.maximum.accumulate(np.where(present, rows, -1), axis=0)
    prev = np.vstack([np.full((1, steps), -1), last_seen[:-1]])
    candidates = present & (rows < n_buckets - 1) & (mono >= rank[None, :])
    found = candidates.any(axis=0)
    b = np.where(found, candidates.argmax(axis=0), n_buckets - 1)
    cols = np.arange(steps)
    b_prev = prev[b, cols]
    before_inf = prev[n_buckets - 1, cols]
    start = np.where(b_prev >= 0, bounds[np.maximum(b_prev, 0)], 0.0)
    prev_count = np.where(b_prev >= 0, mono[np.maximum(b_prev, 0), cols], 0.0)
    end = bounds[b]
    in_bucket = mono[b, cols] - prev_count
    result = start + (end - start) * ((rank - prev_count) / in_bucket)
    result = np.where(~found, bounds[np.maximum(before_inf, 0)], result)
    result = np.where(found & (b_prev < 0) & (end <= 0), end, result)
    invalid = ~has_inf | (n_present < 2) | (observations == 0)
    result = np.where(invalid, np.nan, result)
    out: Floats = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, result))
    return out


@implements("histogram_quantile")
def histogram_quantile(inp: CallInput) -> InstantVector:
    q, vec = inp.scalar(0), inp.vector(1)
    groups: dict[LabelSet, list[tuple[float, int]]] = {}
    for row, labels in enumerate(vec.labels):
        bound = parse_go_float(get(labels, "le"))
        if bound is None:
            continue  # no or malformed bucket label: skipped, as Prometheus does
        groups.setdefault(without(labels, ("le",)), []).append((bound, row))
    out_labels, out_values, out_present = [], [], []
    for signature, members in groups.items():
        members.sort(key=lambda m: m[0])
        bounds = np.array([b for b, _ in members])
        index = [r for _, r in members]
        bounds, counts, present = _merge_equal_bounds(bounds, vec.values[index], vec.present[index])
        out_labels.append(without(signature, (NAME,)))
        out_values.append(bucket_quantile(q, bounds, counts, present))
        out_present.append(present.any(axis=0))
    if not out_labels:
        return InstantVector.empty(len(inp.times))
    result = InstantVector(out_labels, np.array(out_values), np.array(out_present))
    return merge_same_labels(result)
