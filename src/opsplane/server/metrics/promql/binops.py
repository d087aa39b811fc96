"""Binary operators: arithmetic, comparisons (with `bool`), and/or/unless, vector matching
(on/ignoring, group_left/group_right) with Prometheus's errors for ambiguous matches.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.ast import COMPARISON_OPERATORS, Binary, VectorMatching
from opsplane.server.metrics.promql.labels import (
    LabelSet,
    drop_name,
    format_labels,
    get,
    keep,
    signature,
    with_label,
    without,
)
from opsplane.server.metrics.promql.values import (
    DUPLICATE_LABELSET,
    Floats,
    InstantVector,
    Mask,
    Scalar,
    Value,
    merge_same_labels,
)

_ARITHMETIC: dict[str, Callable[[Floats, Floats], Floats]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.fmod,  # Go's math.Mod keeps the dividend's sign, like C's fmod
    "^": np.power,
    "atan2": np.arctan2,
}
_NAME_DROPPING = frozenset({"+", "-", "*", "/", "%", "^"})
_COMPARE: dict[str, Callable[[Floats, Floats], Mask]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}


def element_op(op: str, left: Floats, right: Floats) -> tuple[Floats, Mask]:
    """Value and keep-flag of `left op right`; a comparison keeps the left value."""
    if op in _COMPARE:
        return np.broadcast_to(left, np.broadcast_shapes(left.shape, right.shape)), _COMPARE[op](
            left, right
        )
    result = _ARITHMETIC[op](left, right)
    return result, np.ones(result.shape, dtype=bool)


def evaluate_binary(node: Binary, lhs: Value, rhs: Value) -> Value:
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        value, kept = element_op(node.op, lhs.values, rhs.values)
        if node.op in COMPARISON_OPERATORS:
            value = kept.astype(np.float64)
        return Scalar(np.asarray(value, dtype=np.float64))
    if isinstance(lhs, InstantVector) and isinstance(rhs, Scalar):
        return vector_scalar(node, lhs, rhs.values, swapped=False)
    if isinstance(lhs, Scalar) and isinstance(rhs, InstantVector):
        return vector_scalar(node, rhs, lhs.values, swapped=True)
    assert isinstance(lhs, InstantVector)
    assert isinstance(rhs, InstantVector)
    if node.op == "and":
        return _set_and(lhs, rhs, node.matching, keep_matched=True)
    if node.op == "unless":
        return _set_and(lhs, rhs, node.matching, keep_matched=False)
    if node.op == "or":
        return _set_or(lhs, rhs, node.matching)
    return vector_vector(node, lhs, rhs)


def _drops_name(node: Binary) -> bool:
    # Prometheus 2.42 drops the name for arithmetic and `bool`, but not for atan2.
    return node.return_bool or node.op in _NAME_DROPPING


def vector_scalar(
    node: Binary, vec: InstantVector, scalar: Floats, *, swapped: bool
) -> InstantVector:
    left, right = (scalar[None, :], vec.values) if swapped else (vec.values, scalar[None, :])
    value, kept = element_op(node.op, left, right)
    if node.op in COMPARISON_OPERATORS:
        value = vec.values  # the vector's own value, whichever side it is on
    if node.return_bool:
        value, kept = kept.astype(np.float64), np.ones_like(kept)
    labels = [drop_name(ls) for ls in vec.labels] if _drops_name(node) else list(vec.labels)
    result = InstantVector(labels, np.array(value, dtype=np.float64), vec.present & kept)
    return merge_same_labels(result)


def _signatures(vec: InstantVector, matching: VectorMatching) -> list[LabelSet]:
    return [signature(ls, matching.on, matching.labels) for ls in vec.labels]


def _presence_by_signature(vec: InstantVector, matching: VectorMatching) -> dict[LabelSet, Mask]:
    seen: dict[LabelSet, Mask] = {}
    for sig, present in zip(_signatures(vec, matching), vec.present, strict=True):
        seen[sig] = seen[sig] | present if sig in seen else present.copy()
    return seen


def _set_and(
    lhs: InstantVector, rhs: InstantVector, matching: VectorMatching, *, keep_matched: bool
) -> InstantVector:
    """`and` keeps left samples with a right match at that step; `unless` the others."""
    right = _presence_by_signature(rhs, matching)
    none = np.zeros(lhs.steps, dtype=bool)
    present = lhs.present.copy()
    for row, sig in enumerate(_signatures(lhs, matching)):
        matched = right.get(sig, none)
        present[row] &= matched if keep_matched else ~matched
    return InstantVector(list(lhs.labels), lhs.values, present).compact()


def _set_or(lhs: InstantVector, rhs: InstantVector, matching: VectorMatching) -> InstantVector:
    """All left samples, plus right samples whose signature has no left sample at that step."""
    left = _presence_by_signature(lhs, matching)
    none = np.zeros(lhs.steps, dtype=bool)
    rhs_present = rhs.present.copy()
    for row, sig in enumerate(_signatures(rhs, matching)):
        rhs_present[row] &= ~left.get(sig, none)
    labels = [*lhs.labels, *rhs.labels]
    values = np.vstack([lhs.values, rhs.values])
    return merge_same_labels(InstantVector(labels, values, np.vstack([lhs.present, rhs_present])))


def _one_side_rows(
    one: InstantVector, matching: VectorMatching, side: str
) -> dict[LabelSet, list[int]]:
    """Rows of the "one" side by signature; two present at one step is many-to-many."""
    rows: dict[LabelSet, list[int]] = {}
    for row, sig in enumerate(_signatures(one, matching)):
        rows.setdefault(sig, []).append(row)
    for sig, members in rows.items():
        if len(members) < 2:
            continue
        overlap = one.present[members].sum(axis=0) > 1
        if overlap.any():
            step = int(np.argmax(overlap))
            a, b = [m for m in members if one.present[m, step]][:2]
            raise QueryError(
                f"found duplicate series for the match group {format_labels(sig)} on the "
                f"{side} hand-side of the operation: [{format_labels(one.labels[b])}, "
                f"{format_labels(one.labels[a])}];many-to-many matching not allowed: "
                "matching labels must be unique on one side",
                error_type="execution",
            )
    return rows


def result_labels(
    many: LabelSet, one: LabelSet, node: Binary, matching: VectorMatching
) -> LabelSet:
    labels = many
    if _drops_name(node):
        labels = drop_name(labels)
    if matching.card == "one-to-one":
        only = keep if matching.on else without
        labels = only(labels, matching.labels)
    for name in matching.include:
        # group_x labels come from the "one" side, or are removed when it lacks them.
        labels = with_label(labels, name, get(one, name))
    return labels


def vector_vector(node: Binary, lhs: InstantVector, rhs: InstantVector) -> InstantVector:
    matching = node.matching
    if matching.card == "many-to-many":
        raise QueryError("many-to-many only allowed for set operators", error_type="execution")
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    one_rows = _one_side_rows(one, matching, "left" if swapped else "right")
    out_labels: list[LabelSet] = []
    out_values: list[Floats] = []
    out_present: list[Mask] = []
    matched_per_sig: dict[LabelSet, list[int]] = {}
    for m_row, sig in enumerate(_signatures(many, matching)):
        for o_row in one_rows.get(sig, ()):
            both = many.present[m_row] & one.present[o_row]
            if not both.any():
                continue
            left, right = many.values[m_row], one.values[o_row]
            if swapped:
                left, right = right, left
            value, kept = element_op(node.op, left, right)
            if node.return_bool:
                value, kept = kept.astype(np.float64), np.ones_like(kept)
            present = both & kept
            labels = result_labels(many.labels[m_row], one.labels[o_row], node, matching)
            matched_per_sig.setdefault(sig, []).append(len(out_labels))
            out_labels.append(labels)
            out_values.append(np.array(value, dtype=np.float64))
            out_present.append(present)
    if not out_labels:
        return InstantVector.empty(lhs.steps)
    result = InstantVector(out_labels, np.vstack(out_values), np.vstack(out_present))
    _check_unique_matches(result, matched_per_sig, matching)
    return merge_same_labels(result)


def _check_unique_matches(
    result: InstantVector, rows_by_sig: dict[LabelSet, list[int]], matching: VectorMatching
) -> None:
    for rows in rows_by_sig.values():
        if len(rows) < 2:
            continue
        if matching.card == "one-to-one":
            if (result.present[rows].sum(axis=0) > 1).any():
                raise QueryError(
                    "multiple matches for labels: many-to-one matching must be explicit "
                    "(group_left/group_right)",
                    error_type="execution",
                )
            continue
        by_labels: dict[LabelSet, list[int]] = {}
        for row in rows:
            by_labels.setdefault(result.labels[row], []).append(row)
        for same in by_labels.values():
            if len(same) > 1 and (result.present[same].sum(axis=0) > 1).any():
                raise QueryError(
                    "multiple matches for labels: grouping labels must ensure unique results",
                    error_type="execution",
                )


def negate(value: Value) -> Value:
    """Unary minus: drops the metric name, and refuses a result with duplicate labels."""
    if isinstance(value, Scalar):
        return Scalar(-value.values)
    assert isinstance(value, InstantVector)
    labels = [drop_name(ls) for ls in value.labels]
    if len(set(labels)) != len(labels):
        raise QueryError(DUPLICATE_LABELSET, error_type="execution")
    return InstantVector(labels, -value.values, value.present)
