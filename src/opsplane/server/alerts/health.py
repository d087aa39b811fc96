"""Rule health: what each rule's last scheduled evaluation said (Prometheus's rules API fields).

Kept in memory by the process that evaluates (the leader), like Prometheus: it is about this
run of the engine, and writing it to the database on every tick would cost a write per rule
per interval. A rule nobody has evaluated yet (just created, edited, or after a restart; or on
a process that does not lead) is `unknown`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Health = Literal["ok", "err", "unknown"]


@dataclass(frozen=True, slots=True)
class RuleHealth:
    health: Health = "unknown"
    last_error: str = ""
    last_evaluation: datetime | None = None
    duration_s: float | None = None

    @property
    def duration_ms(self) -> float | None:
        return None if self.duration_s is None else round(self.duration_s * 1000, 3)


UNKNOWN = RuleHealth()


class RuleHealthBook:
    """The health of every enabled rule, by rule id."""

    def __init__(self) -> None:
        self._by_rule: dict[int, RuleHealth] = {}

    def of(self, rule_id: int) -> RuleHealth:
        return self._by_rule.get(rule_id, UNKNOWN)

    def record(
        self, rule_id: int, *, at: float, duration_s: float, error: str | None = None
    ) -> bool:
        """Note one evaluation; True when the health or the error changed (worth telling)."""
        old = self.of(rule_id)
        new = RuleHealth(
            "ok" if error is None else "err",
            error or "",
            datetime.fromtimestamp(at, UTC),
            duration_s,
        )
        self._by_rule[rule_id] = new
        return (old.health, old.last_error) != (new.health, new.last_error)

    def forget(self, rule_id: int) -> None:
        """The rule is gone, or its expression changed: the old verdict no longer applies."""
        self._by_rule.pop(rule_id, None)

    def failing(self) -> list[tuple[int, RuleHealth]]:
        failing = [(i, h) for i, h in self._by_rule.items() if h.health == "err"]
        return sorted(failing, key=lambda pair: pair[0])
