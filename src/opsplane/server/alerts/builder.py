"""Threshold rules: the builder's spec compiled to PromQL, and fast-path detection.

A rule is eligible for the ingest fast path when its expression is one plain selector
compared with a number (`metric{...} > 90`, or `90 < metric`): then each incoming sample can
be judged alone, without the query engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import promql_parser

from opsplane.protocol.thresholds import COMPARE
from opsplane.server.alerts.labels import matches_all
from opsplane.server.errors import Invalid
from opsplane.server.metrics.model import LabelMatcher, MatchOp

Comparison = Literal[">", ">=", "<", "<=", "==", "!="]
_FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
_MATCH_OPS: dict[str, MatchOp] = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True, slots=True)
class FastPath:
    """`metric{matchers} op threshold`, judged per sample."""

    metric: str
    matchers: tuple[LabelMatcher, ...]
    op: str
    threshold: float

    def selects(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.metric and matches_all(self.matchers, labels)

    def holds(self, value: float) -> bool:
        return COMPARE[self.op](value, self.threshold)


def parse_expr(expr: str) -> Any:
    """The PromQL AST, or Invalid with the parser's message."""
    try:
        return promql_parser.parse(expr)
    except (ValueError, TypeError) as exc:
        raise Invalid(f"expr {expr!r} is not valid PromQL: {exc}", code="bad_expr") from None


def _selector(node: Any) -> tuple[str, tuple[LabelMatcher, ...]] | None:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    if not isinstance(node, promql_parser.VectorSelector):
        return None
    if node.offset is not None or node.at is not None or not node.name:
        return None
    if node.matchers.or_matchers:
        return None
    matchers = []
    for m in node.matchers.matchers:
        op = _MATCH_OPS.get(str(m.op).rsplit(".", 1)[-1])
        if op is None:
            return None
        if m.name != "__name__":
            matchers.append(LabelMatcher(m.name, op, m.value))
    return node.name, tuple(matchers)


def _number(node: Any) -> float | None:
    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return float(node.val) if isinstance(node, promql_parser.NumberLiteral) else None


def fast_path_of(expr: str) -> FastPath | None:
    """The per-sample form of `expr`, if it has one."""
    try:
        tree = promql_parser.parse(expr)
    except (ValueError, TypeError):
        return None
    if not isinstance(tree, promql_parser.BinaryExpr):
        return None
    op = str(tree.op)
    if op not in COMPARE or (tree.modifier is not None and tree.modifier.return_bool):
        return None
    left, right = _selector(tree.lhs), _number(tree.rhs)
    if left is not None and right is not None:
        return FastPath(left[0], left[1], op, right)
    left_n, right_s = _number(tree.lhs), _selector(tree.rhs)
    if left_n is not None and right_s is not None:
        return FastPath(right_s[0], right_s[1], _FLIPPED[op], left_n)
    return None


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def number_text(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)


def selector(metric: str, labels: Mapping[str, str], nodes: Sequence[str]) -> str:
    """`metric{k="v",node=~"a|b"}` with values escaped (node names matched literally)."""
    if not METRIC_NAME.match(metric):
        raise Invalid(f"metric {metric!r} is not a valid metric name", code="bad_metric")
    parts = [f"{k}={_quote(v)}" for k, v in sorted(labels.items())]
    if nodes:
        if len(nodes) == 1:
            parts.append(f"node={_quote(nodes[0])}")
        else:
            parts.append(f"node=~{_quote('|'.join(re.escape(n) for n in nodes))}")
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def compile_threshold(spec: Mapping[str, Any]) -> tuple[str, str]:
    """(expr, eval_expr) of a builder spec; eval_expr uses the clear threshold if any."""
    sel = selector(spec["metric"], spec.get("labels") or {}, spec.get("nodes") or [])
    op = spec["operator"]
    if op not in COMPARE:
        raise Invalid(f"operator {op!r} must be one of {sorted(COMPARE)}", code="bad_operator")
    expr = f"{sel} {op} {number_text(float(spec['threshold']))}"
    clear = spec.get("clear_threshold")
    if clear is None:
        return expr, expr
    if not _clear_is_looser(op, float(spec["threshold"]), float(clear)):
        raise Invalid(
            "clear_threshold must be on the non-firing side of threshold "
            "(e.g. threshold 90, clear 85 for '>')",
            code="bad_hysteresis",
        )
    return expr, f"{sel} {op} {number_text(float(clear))}"


def _clear_is_looser(op: str, threshold: float, clear: float) -> bool:
    if op in (">", ">="):
        return clear <= threshold
    if op in ("<", "<="):
        return clear >= threshold
    return False


def enter_condition(spec: Mapping[str, Any] | None) -> Callable[[float], bool] | None:
    """The fire condition new alerts need when the builder spec has a clear threshold."""
    if not spec or spec.get("clear_threshold") is None:
        return None
    compare, threshold = COMPARE[spec["operator"]], float(spec["threshold"])
    return lambda value: compare(value, threshold)
