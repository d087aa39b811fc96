"""Prometheus alerting-rule semantics: for, keep_firing_for, resolve, hysteresis, templates."""

from __future__ import annotations

from opsplane.server.alerts.builder import enter_condition
from opsplane.server.alerts.evaluation import RuleSpec, RuleState
from opsplane.server.alerts.models import AlertState as S

CPU = {"__name__": "cpu", "node": "web-1", "job": "opsplane-agent"}


def rule(**kw: object) -> RuleSpec:
    base: dict[str, object] = {"id": 1, "group_id": 1, "name": "HighCPU", "expr": "cpu > 90"}
    return RuleSpec(**(base | kw))  # type: ignore[arg-type]


def moves(
    state: RuleState, present: list[tuple[dict[str, str], float]], now: float
) -> list[tuple[S | None, S]]:
    return [(t.old, t.new) for t in state.apply(present, now)]


def test_for_zero_fires_in_the_first_evaluation() -> None:
    state = RuleState(rule())
    assert moves(state, [(CPU, 95)], 100) == [(None, S.pending), (S.pending, S.firing)]
    assert moves(state, [(CPU, 96)], 115) == []
    assert moves(state, [], 130) == [(S.firing, S.resolved)]
    assert state.active == {}


def test_for_holds_pending_until_the_duration_has_passed() -> None:
    state = RuleState(rule(for_s=30))
    assert moves(state, [(CPU, 95)], 100) == [(None, S.pending)]
    assert moves(state, [(CPU, 95)], 129) == []
    assert moves(state, [(CPU, 95)], 130) == [(S.pending, S.firing)]
    alert = next(iter(state.active.values()))
    assert (alert.active_at, alert.fired_at) == (100, 130)


def test_pending_alert_that_clears_is_cancelled_not_resolved() -> None:
    state = RuleState(rule(for_s=30))
    moves(state, [(CPU, 95)], 100)
    assert moves(state, [], 110) == [(S.pending, S.cancelled)]
    assert moves(state, [(CPU, 95)], 120) == [(None, S.pending)]  # the clock starts again


def test_keep_firing_for_damps_flapping() -> None:
    state = RuleState(rule(keep_firing_for_s=60))
    moves(state, [(CPU, 95)], 0)
    assert moves(state, [], 15) == []  # absent, held by keep_firing_for
    assert moves(state, [(CPU, 95)], 30) == []  # back: the hold resets
    assert moves(state, [], 45) == []
    assert moves(state, [], 104) == []
    assert moves(state, [], 105) == [(S.firing, S.resolved)]


def test_labels_and_annotations_are_templated_and_alertname_is_set() -> None:
    state = RuleState(
        rule(
            labels={"team": "ops", "where": "{{ $labels.node }}"},
            annotations={"summary": "{{ $labels.node }} at {{ $value }}%"},
            severity="critical",
        )
    )
    state.apply([(CPU, 97.5)], 0)
    alert = next(iter(state.active.values()))
    assert alert.labels == {
        "node": "web-1",
        "job": "opsplane-agent",
        "team": "ops",
        "where": "web-1",
        "severity": "critical",
        "alertname": "HighCPU",
    }
    assert alert.annotations == {"summary": "web-1 at 97.5%"}
    state.apply([(CPU, 99)], 15)
    assert alert.annotations == {"summary": "web-1 at 99%"}  # updated, same alert
    assert alert.value == 99


def test_each_series_is_its_own_alert() -> None:
    state = RuleState(rule())
    other = CPU | {"node": "web-2"}
    state.apply([(CPU, 95), (other, 91)], 0)
    assert len(state.active) == 2
    assert moves(state, [(other, 92)], 15) == [(S.firing, S.resolved)]
    assert [a.labels["node"] for a in state.active.values()] == ["web-2"]


def test_absent_limits_which_missing_alerts_count_as_gone() -> None:
    state = RuleState(rule())
    other = CPU | {"node": "web-2"}
    state.apply([(CPU, 95), (other, 91)], 0)
    web1 = state.fingerprint_of(CPU, 95)
    # The fast path saw only web-1 (below threshold): web-2 is not judged.
    out = state.apply([], 5, absent={web1}.__contains__)
    assert [(t.alert.labels["node"], t.new) for t in out] == [("web-1", S.resolved)]


def test_hysteresis_needs_the_fire_threshold_to_start_and_the_clear_one_to_end() -> None:
    spec = {"metric": "cpu", "operator": ">", "threshold": 90, "clear_threshold": 80}
    state = RuleState(rule(eval_expr="cpu > 80", enter=enter_condition(spec)))
    assert moves(state, [(CPU, 85)], 0) == []  # in the band: no new alert
    assert moves(state, [(CPU, 91)], 15)[-1] == (S.pending, S.firing)
    assert moves(state, [(CPU, 85)], 30) == []  # in the band: keeps firing
    assert moves(state, [], 45) == [(S.firing, S.resolved)]  # below 80: query returns nothing


def test_retire_resolves_firing_and_drops_pending() -> None:
    state = RuleState(rule(for_s=60, keep_firing_for_s=300))
    state.apply([(CPU, 95)], 0)
    state.apply([(CPU, 95), (CPU | {"node": "b"}, 95)], 60)
    kinds = sorted(t.new.value for t in state.retire(61))
    assert kinds == ["cancelled", "resolved"]
