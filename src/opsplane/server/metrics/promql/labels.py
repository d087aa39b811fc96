"""Label sets as sorted tuples of pairs: hashable, ordered as Prometheus orders them."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping

LabelSet = tuple[tuple[str, str], ...]
"""Pairs sorted by name; no empty values (an empty value means the label is absent)."""

NAME = "__name__"
EMPTY: LabelSet = ()


def from_mapping(labels: Mapping[str, str]) -> LabelSet:
    return tuple(sorted((k, v) for k, v in labels.items() if v != ""))


def from_pairs(pairs: Iterable[tuple[str, str]]) -> LabelSet:
    return tuple(sorted((k, v) for k, v in pairs if v != ""))


def to_dict(labels: LabelSet) -> dict[str, str]:
    return dict(labels)


def get(labels: LabelSet, name: str) -> str:
    for key, value in labels:
        if key == name:
            return value
    return ""


def drop_name(labels: LabelSet) -> LabelSet:
    if labels and any(k == NAME for k, _ in labels):
        return tuple(p for p in labels if p[0] != NAME)
    return labels


def without(labels: LabelSet, names: Collection[str]) -> LabelSet:
    return tuple(p for p in labels if p[0] not in names)


def keep(labels: LabelSet, names: Collection[str]) -> LabelSet:
    return tuple(p for p in labels if p[0] in names)


def with_label(labels: LabelSet, name: str, value: str) -> LabelSet:
    """Set (or, for an empty value, delete) one label."""
    rest = [p for p in labels if p[0] != name]
    if value != "":
        rest.append((name, value))
    return tuple(sorted(rest))


def signature(labels: LabelSet, on: bool, names: Collection[str]) -> LabelSet:
    """What vector matching compares: `on(names)`, else all labels but `names` and the name."""
    if on:
        return keep(labels, names)
    return tuple(p for p in labels if p[0] not in names and p[0] != NAME)


def format_labels(labels: LabelSet) -> str:
    """Prometheus's `labels.String()`: `{a="b", c="d"}`, values quoted like Go's %q."""
    inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in labels)
    return "{" + inner + "}"


def is_valid_name(name: str) -> bool:
    """Prometheus's label name rule: [a-zA-Z_][a-zA-Z0-9_]*."""
    if not name or not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        return False
    return all(c.isascii() and (c.isalnum() or c == "_") for c in name)
