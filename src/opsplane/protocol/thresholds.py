"""Threshold watches: the server's simple threshold rules, handed to agents so that a crossing
is reported when it happens instead of on the next collection tick.

The server sends each agent the rules whose expression is `metric{matchers} op number` (the
alert fast path's kind), in its config. The agent checks the series those rules read every
`threshold_check_interval` seconds and sends a sample at once when a series moves to the
other side of a threshold; nothing is sent while the side stays the same, so the link
carries what it carried before. Matchers are on the labels the server stores the series
under (point labels over the node's labels, plus `job`); the server has already resolved
those on `node` / `node_id` before sending.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from typing import Literal

import msgspec

MatchOp = Literal["=", "!=", "=~", "!~"]
CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@functools.lru_cache(maxsize=512)
def _anchored(pattern: str) -> re.Pattern[str]:
    # Prometheus anchors label regexes at both ends.
    return re.compile(f"^(?:{pattern})$", re.DOTALL)


class Matcher(msgspec.Struct, frozen=True, array_like=True):
    """One label matcher with PromQL semantics (an absent label matches as "")."""

    name: str
    op: MatchOp
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name) or ""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        try:
            found = _anchored(self.value).match(value) is not None
        except re.error:
            return False  # the server validated it; a dialect difference is not a crossing
        return found if self.op == "=~" else not found


class ThresholdWatch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """`metric{matchers} op t` for each t in `thresholds` (two with a hysteresis band)."""

    rule_id: str
    metric: str
    op: CompareOp
    thresholds: tuple[float, ...]
    matchers: tuple[Matcher, ...] = ()

    def selects(self, name: str, labels: Mapping[str, str]) -> bool:
        return name == self.metric and all(m.matches(labels) for m in self.matchers)

    def side(self, value: float) -> tuple[bool, ...]:
        """Which thresholds `value` is past; a change of this tuple is a crossing."""
        if value != value:  # NaN compares false everywhere, as in PromQL
            return tuple(False for _ in self.thresholds)
        compare = COMPARE[self.op]
        return tuple(compare(value, t) for t in self.thresholds)
