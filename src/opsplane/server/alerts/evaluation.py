"""Prometheus alerting-rule semantics, as a pure state machine over one rule's results.

`RuleState.apply(present, now)` takes the samples an evaluation returned and moves each alert
along pending -> firing -> resolved exactly as Prometheus's `AlertingRule.Eval` does:

- a new sample opens a pending alert (`active_at = now`); with `for: 0` it fires at once;
- a pending alert fires once `now - active_at >= for`;
- a pending alert whose sample disappears is dropped (here: "cancelled", for history);
- a firing alert whose sample disappears resolves, unless `keep_firing_for` holds it: it then
  keeps firing until the condition has been absent that long (Prometheus's flap damping);
- hysteresis (builder rules with a clear threshold): a new alert needs the *fire* condition,
  an active one stays while the (looser) *clear* condition holds.

No I/O here: the engine persists the returned transitions and notifies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from opsplane.server.alerts.labels import Labels, fingerprint, without_name
from opsplane.server.alerts.models import AlertState
from opsplane.server.alerts.templates import TemplateData, render_safely


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What the engine needs of a rule (a snapshot of the DB row, compiled)."""

    id: int
    group_id: int
    name: str
    expr: str
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    severity: str = "warning"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # The expression actually evaluated (differs from `expr` with a hysteresis clear threshold).
    eval_expr: str = ""
    # Condition a *new* alert must meet (hysteresis); None: every returned sample counts.
    enter: Callable[[float], bool] | None = None

    @property
    def query(self) -> str:
        return self.eval_expr or self.expr


@dataclass(slots=True)
class ActiveAlert:
    fingerprint: str
    labels: Labels
    annotations: Labels
    value: float
    state: AlertState
    active_at: float
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None
    alert_id: int | None = None  # row in `alerts`, once persisted


@dataclass(frozen=True, slots=True)
class Transition:
    alert: ActiveAlert
    old: AlertState | None
    new: AlertState
    at: float


def alert_labels(
    rule: RuleSpec, series: Mapping[str, str], value: float, external: Mapping[str, str]
) -> tuple[Labels, Labels]:
    """(labels, annotations) of the alert a sample produces, templates expanded."""
    data = TemplateData(labels=without_name(series), value=value, external_labels=external)
    labels = without_name(series)
    for key, template in rule.labels.items():
        labels[key] = render_safely(template, data)
    if rule.severity and "severity" not in rule.labels:
        labels["severity"] = rule.severity
    labels["alertname"] = rule.name
    annotations = {k: render_safely(t, data) for k, t in rule.annotations.items()}
    return labels, annotations


class RuleState:
    """The active alerts of one rule, in memory, keyed by label fingerprint."""

    def __init__(self, rule: RuleSpec, *, external_labels: Mapping[str, str] | None = None) -> None:
        self.rule = rule
        self.external = dict(external_labels or {})
        self.active: dict[str, ActiveAlert] = {}

    def fingerprint_of(self, series: Mapping[str, str], value: float) -> str:
        return fingerprint(alert_labels(self.rule, series, value, self.external)[0])

    def apply(
        self,
        present: Sequence[tuple[Mapping[str, str], float]],
        now: float,
        *,
        absent: Callable[[str], bool] | None = None,
    ) -> list[Transition]:
        """Apply one evaluation's samples at time `now`.

        Args:
            present: (series labels, value) of every sample the rule's expression returned.
            now: evaluation time (unix seconds).
            absent: which active alerts missing from `present` count as gone; default all.
                The fast path evaluates a few series at a time and passes only those.
        """
        out: list[Transition] = []
        seen: set[str] = set()
        for series, value in present:
            labels, annotations = alert_labels(self.rule, series, value, self.external)
            fp = fingerprint(labels)
            seen.add(fp)
            current = self.active.get(fp)
            if current is not None:
                current.value, current.annotations, current.labels = value, annotations, labels
                current.keep_firing_since = None
                continue
            if self.rule.enter is not None and not self.rule.enter(value):
                seen.discard(fp)  # inside the hysteresis band, not yet an alert
                continue
            alert = ActiveAlert(fp, labels, annotations, value, AlertState.pending, now)
            self.active[fp] = alert
            out.append(Transition(alert, None, AlertState.pending, now))
        for fp, alert in list(self.active.items()):
            if fp in seen or (absent is not None and not absent(fp)):
                continue
            out.extend(self._gone(alert, now))
        for alert in self.active.values():
            if alert.state is AlertState.pending and now - alert.active_at >= self.rule.for_s:
                alert.state, alert.fired_at = AlertState.firing, now
                out.append(Transition(alert, AlertState.pending, AlertState.firing, now))
        return out

    def _gone(self, alert: ActiveAlert, now: float) -> list[Transition]:
        if alert.state is AlertState.pending:
            del self.active[alert.fingerprint]
            alert.state = AlertState.cancelled
            return [Transition(alert, AlertState.pending, AlertState.cancelled, now)]
        keep = self.rule.keep_firing_for_s
        if keep > 0:
            if alert.keep_firing_since is None:
                alert.keep_firing_since = now
            if now - alert.keep_firing_since < keep:
                return []
        del self.active[alert.fingerprint]
        alert.state, alert.resolved_at = AlertState.resolved, now
        return [Transition(alert, AlertState.firing, AlertState.resolved, now)]

    def restore(self, alert: ActiveAlert) -> None:
        """Take back an alert persisted before a restart (Prometheus's `for` state restore)."""
        self.active[alert.fingerprint] = alert

    def retire(self, now: float) -> list[Transition]:
        """The rule was disabled or deleted: resolve what fires, drop what is pending."""
        out: list[Transition] = []
        for alert in list(self.active.values()):
            alert.keep_firing_since = now - self.rule.keep_firing_for_s - 1
            out.extend(self._gone(alert, now))
        return out
