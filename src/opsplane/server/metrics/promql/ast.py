"""Our own PromQL syntax tree, converted from `promql-parser`'s.

The Rust-backed parser hands out fresh Python wrappers on every attribute access, so its
nodes cannot key a dict; these frozen dataclasses (compared by identity) can, and carry
times as integer milliseconds. `parse` also refuses syntax that Prometheus 2.42 does not
know but the parser accepts (newer functions, `or` inside selector braces, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import promql_parser as pp

from opsplane.server.metrics.model import LabelMatcher, MatchOp, QueryError
from opsplane.server.metrics.promql.catalog import FUNCTIONS

ValueType = Literal["scalar", "vector", "matrix", "string"]
AtSpec = int | Literal["start", "end"] | None
"""An `@` modifier: a timestamp in ms, `start()`, `end()`, or none."""
Cardinality = Literal["one-to-one", "many-to-one", "one-to-many", "many-to-many"]


@dataclass(frozen=True, eq=False)
class NumberLiteral:
    value: float


@dataclass(frozen=True, eq=False)
class StringLiteral:
    value: str


@dataclass(frozen=True, eq=False)
class VectorSelector:
    name: str | None
    matchers: tuple[LabelMatcher, ...]
    """All matchers, the metric name's included."""
    offset_ms: int = 0
    at: AtSpec = None


@dataclass(frozen=True, eq=False)
class MatrixSelector:
    selector: VectorSelector
    range_ms: int


@dataclass(frozen=True, eq=False)
class Subquery:
    expr: Node
    range_ms: int
    step_ms: int | None
    offset_ms: int = 0
    at: AtSpec = None


@dataclass(frozen=True, eq=False)
class Call:
    func: str
    args: tuple[Node, ...]


@dataclass(frozen=True, eq=False)
class Aggregate:
    op: str
    expr: Node
    param: Node | None
    grouping: tuple[str, ...]
    without: bool


@dataclass(frozen=True, eq=False)
class VectorMatching:
    card: Cardinality
    on: bool
    labels: tuple[str, ...]
    include: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class Binary:
    op: str
    lhs: Node
    rhs: Node
    return_bool: bool
    matching: VectorMatching


@dataclass(frozen=True, eq=False)
class Negation:
    expr: Node


@dataclass(frozen=True, eq=False)
class Paren:
    expr: Node


Node = (
    NumberLiteral
    | StringLiteral
    | VectorSelector
    | MatrixSelector
    | Subquery
    | Call
    | Aggregate
    | Binary
    | Negation
    | Paren
)

SET_OPERATORS = frozenset({"and", "or", "unless"})
COMPARISON_OPERATORS = frozenset({"==", "!=", ">", "<", ">=", "<="})


def parse(expr: str) -> Node:
    """Parse a PromQL expression; raises `QueryError` (bad_data) with the parser's message."""
    try:
        tree = pp.parse(expr)
    except ValueError as exc:
        raise QueryError(f"parse error: {exc}") from exc
    return _convert(tree)


def unwrap_parens(node: Node) -> Node:
    while isinstance(node, Paren):
        node = node.expr
    return node


def value_type(node: Node) -> ValueType:
    """The PromQL type an expression evaluates to (the parser has checked the arguments)."""
    if isinstance(node, NumberLiteral):
        return "scalar"
    if isinstance(node, StringLiteral):
        return "string"
    if isinstance(node, VectorSelector | Aggregate):
        return "vector"
    if isinstance(node, MatrixSelector | Subquery):
        return "matrix"
    if isinstance(node, Call):
        return FUNCTIONS[node.func].returns
    if isinstance(node, Negation | Paren):
        return value_type(node.expr)
    both_scalar = value_type(node.lhs) == "scalar" and value_type(node.rhs) == "scalar"
    return "scalar" if both_scalar else "vector"


def _ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _at(modifier: Any) -> AtSpec:
    if modifier is None:
        return None
    if modifier.type == pp.AtModifierType.Start:
        return "start"
    if modifier.type == pp.AtModifierType.End:
        return "end"
    return round(modifier.at.timestamp() * 1000)


_MATCH_OPS: dict[str, MatchOp] = {
    "MatchOp.Equal": "=",
    "MatchOp.NotEqual": "!=",
    "MatchOp.Re": "=~",
    "MatchOp.NotRe": "!~",
}


def _matcher(m: Any) -> LabelMatcher:
    return LabelMatcher(m.name, _MATCH_OPS[str(m.op)], m.value)


def _vector_selector(node: Any) -> VectorSelector:
    if node.matchers.or_matchers:
        raise QueryError("parse error: 'or' in label matchers is not supported (Prometheus 2.42)")
    matchers = tuple(_matcher(m) for m in node.matchers.matchers)
    if node.name is not None:
        matchers = (LabelMatcher("__name__", "=", node.name), *matchers)
    name = node.name
    if name is None:
        name = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
    return VectorSelector(name, matchers, _ms(node.offset), _at(node.at))


def _matching(modifier: Any, op: str) -> VectorMatching:
    default_card: Cardinality = "many-to-many" if op in SET_OPERATORS else "one-to-one"
    if modifier is None:
        return VectorMatching(default_card, False, (), ())
    cards: dict[str, Cardinality] = {
        "VectorMatchCardinality.OneToOne": "one-to-one",
        "VectorMatchCardinality.ManyToOne": "many-to-one",
        "VectorMatchCardinality.OneToMany": "one-to-many",
        "VectorMatchCardinality.ManyToMany": "many-to-many",
    }
    card = cards[str(modifier.card)] if modifier.card is not None else default_card
    matching = modifier.matching
    on = matching is not None and matching.type == pp.LabelModifierType.Include
    labels = tuple(matching.labels) if matching is not None else ()
    include = tuple(modifier.group_labels or ())
    return VectorMatching(card, on, labels, include)


def _binary(node: Any) -> Binary:
    op = str(node.op)
    modifier = node.modifier
    return Binary(
        op=op,
        lhs=_convert(node.lhs),
        rhs=_convert(node.rhs),
        return_bool=bool(modifier is not None and modifier.return_bool),
        matching=_matching(modifier, op),
    )


def _call(node: Any) -> Call:
    name = node.func.name
    if name not in FUNCTIONS:
        raise QueryError(f"parse error: unknown function with name {name!r}")
    return Call(name, tuple(_convert(arg) for arg in node.args))


_AGGREGATIONS = frozenset(
    {
        "sum", "avg", "min", "max", "count", "stddev", "stdvar", "group",
        "quantile", "count_values", "topk", "bottomk",
    }
)  # fmt: skip


def _aggregate(node: Any) -> Aggregate:
    op = str(node.op)
    if op not in _AGGREGATIONS:
        raise QueryError(f"parse error: unknown aggregation {op!r} (not in Prometheus 2.42)")
    modifier = node.modifier
    without = modifier is not None and modifier.type == pp.AggModifierType.Without
    grouping = tuple(modifier.labels) if modifier is not None else ()
    param = _convert(node.param) if node.param is not None else None
    return Aggregate(op, _convert(node.expr), param, grouping, without)


def _convert(node: Any) -> Node:
    if isinstance(node, pp.NumberLiteral):
        return NumberLiteral(float(node.val))
    if isinstance(node, pp.StringLiteral):
        return StringLiteral(node.val)
    if isinstance(node, pp.VectorSelector):
        return _vector_selector(node)
    if isinstance(node, pp.MatrixSelector):
        return MatrixSelector(_vector_selector(node.vector_selector), _ms(node.range))
    if isinstance(node, pp.SubqueryExpr):
        step = _ms(node.step) if node.step is not None else None
        return Subquery(_convert(node.expr), _ms(node.range), step, _ms(node.offset), _at(node.at))
    if isinstance(node, pp.Call):
        return _call(node)
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    if isinstance(node, pp.UnaryExpr):
        return Negation(_convert(node.expr))
    if isinstance(node, pp.ParenExpr):
        return Paren(_convert(node.expr))
    raise QueryError(f"parse error: unsupported expression {type(node).__name__}")
