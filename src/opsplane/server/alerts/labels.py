"""Label sets: fingerprints, matcher lists (Alertmanager-style) and their text form."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opsplane.server.errors import Invalid
from opsplane.server.metrics.model import LabelMatcher, MatchOp

Labels = dict[str, str]
_OPS: tuple[MatchOp, ...] = ("=~", "!~", "!=", "=")
_MATCHER_TEXT = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable 16-hex-digit id of a label set (order does not matter)."""
    h = hashlib.sha256()
    for key in sorted(labels):
        h.update(key.encode())
        h.update(b"\xff")
        h.update(labels[key].encode())
        h.update(b"\xff")
    return h.hexdigest()[:16]


def matcher_from_dict(raw: Mapping[str, Any]) -> LabelMatcher:
    name, op, value = raw.get("name"), raw.get("op", "="), raw.get("value", "")
    if not isinstance(name, str) or not name or op not in _OPS or not isinstance(value, str):
        raise Invalid(
            f"bad matcher {dict(raw)!r}: want name, op (= != =~ !~), value", code="bad_matcher"
        )
    if op in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as exc:
            raise Invalid(
                f"matcher {name}{op}{value!r}: bad regex: {exc}", code="bad_matcher"
            ) from None
    return LabelMatcher(name, op, value)


def matchers_from_dicts(raw: Iterable[Mapping[str, Any]]) -> list[LabelMatcher]:
    return [matcher_from_dict(m) for m in raw]


def matcher_to_dict(m: LabelMatcher) -> dict[str, str]:
    return {"name": m.name, "op": m.op, "value": m.value}


def parse_matcher(text: str) -> LabelMatcher:
    """`severity="critical"`, `env=~"prod|staging"` (Alertmanager's `matchers:` syntax)."""
    found = _MATCHER_TEXT.match(text)
    if found is None:
        raise Invalid(f'matcher {text!r} must look like name="value"', code="bad_matcher")
    name, op, value = found.groups()
    return matcher_from_dict({"name": name, "op": op, "value": value})


def matches_all(matchers: Sequence[LabelMatcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels.get(m.name)) for m in matchers)


def without_name(labels: Mapping[str, str]) -> Labels:
    return {k: v for k, v in labels.items() if k != "__name__"}
