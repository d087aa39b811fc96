"""Editing a threshold-builder rule through the builder (`PUT /alerts/rules/{id}/threshold`)
on SQLite and PostgreSQL: recompiled, same rule, active alerts kept, audited."""

from __future__ import annotations

import time
from typing import Any

from tests.server.alerts.conftest import Api, FakeBackend
from tests.server.alerts.test_engine import evaluate

SPEC: dict[str, Any] = {
    "name": "HostCPU",
    "metric": "host_cpu_percent",
    "nodes": ["web-1"],
    "operator": ">",
    "threshold": 90,
    "for": "0s",
    "severity": "warning",
}
SERIES = {"__name__": "host_cpu_percent", "node": "web-1"}


async def test_builder_rule_is_rebuilt_in_place_and_keeps_its_alerts(
    api: Api, backend: FakeBackend
) -> None:
    rule = await api.post("/alerts/rules/threshold", SPEC)
    rule_id = rule["id"]
    backend.set(rule["expr"], (SERIES, 97.0))
    t0 = time.time()
    await evaluate(api, rule_id, t0)
    [firing] = (await api.get("/alerts", params={"state": "firing"}))["items"]
    # A hand-added annotation survives the rebuild; `summary` is the builder's.
    await api.call(
        "PATCH", f"/alerts/rules/{rule_id}", json={"annotations": {"runbook": "r", "summary": "x"}}
    )

    edited = SPEC | {
        "threshold": 95,
        "clear_threshold": 85,
        "nodes": ["web-1", "web-2"],
        "for": "1m",
        "summary": "CPU {{ $value }}",
        "group": "hosts",
    }
    # Answer the new query before the rebuild: a group tick may evaluate it at any moment.
    new_eval = 'host_cpu_percent{node=~"web\\\\-1|web\\\\-2"} > 85'
    backend.set(new_eval, (SERIES, 90.0))
    rebuilt = await api.call("PUT", f"/alerts/rules/{rule_id}/threshold", json=edited)
    assert rebuilt["id"] == rule_id
    assert rebuilt["expr"] == 'host_cpu_percent{node=~"web\\\\-1|web\\\\-2"} > 95'
    assert (rebuilt["for"], rebuilt["group"]) == (60, "hosts")
    assert rebuilt["annotations"] == {"runbook": "r", "summary": "CPU {{ $value }}"}
    assert rebuilt["builder"] == {
        "metric": "host_cpu_percent",
        "labels": {},
        "nodes": ["web-1", "web-2"],
        "operator": ">",
        "threshold": 95.0,
        "clear_threshold": 85.0,
        "summary": "CPU {{ $value }}",
    }
    assert rebuilt["fast_path"] is True

    # The engine runs the new spec at once; the firing alert (same labels) carried over.
    # Hysteresis: it stays while above the clear threshold, though below the new threshold.
    assert api.ctx.alerts.states[rule_id].rule.eval_expr == new_eval
    await evaluate(api, rule_id, t0 + 15)
    still = (await api.get("/alerts", params={"state": "firing"}))["items"]
    assert [a["id"] for a in still] == [firing["id"]]
    history = await api.get("/alerts/history", params={"rule_id": rule_id})
    assert [e["to_state"] for e in history["items"]] == ["firing", "pending"]

    audit = await api.get("/audit", params={"action": "alert_rule.update"})
    entry = next(e for e in audit["items"] if "threshold builder" in e["summary"])
    assert entry["target_id"] == str(rule_id)
    assert entry["before"]["builder"]["threshold"] == 90
    assert entry["after"]["builder"]["clear_threshold"] == 85


async def test_a_hand_edited_expression_detaches_and_the_builder_can_take_it_back(
    api: Api,
) -> None:
    rule = await api.post("/alerts/rules/threshold", SPEC)
    path = f"/alerts/rules/{rule['id']}"
    detached = await api.call("PATCH", path, json={"expr": "host_cpu_percent > 99"})
    assert detached["builder"] is None
    again = SPEC | {"threshold": 80, "severity": "critical", "alert_labels": {"team": "ops"}}
    back = await api.call("PUT", f"{path}/threshold", json=again)
    assert back["builder"]["threshold"] == 80
    assert (back["severity"], back["labels"]) == ("critical", {"team": "ops"})
    assert back["expr"] == 'host_cpu_percent{node="web-1"} > 80'
    # Without `summary` the default one follows the new threshold.
    assert back["annotations"]["summary"].endswith("(> 80)")


async def test_bad_specs_change_nothing(api: Api) -> None:
    rule = await api.post("/alerts/rules/threshold", SPEC)
    path = f"/alerts/rules/{rule['id']}/threshold"
    wrong_side = await api.call(
        "PUT", path, json=SPEC | {"threshold": 90, "clear_threshold": 95}, expect=422
    )
    assert wrong_side["error"]["code"] == "bad_hysteresis"
    bad_metric = await api.call("PUT", path, json=SPEC | {"metric": "cpu-usage"}, expect=422)
    assert bad_metric["error"]["code"] == "bad_metric"
    await api.call("PUT", path, json=SPEC | {"operator": "=~"}, expect=422)
    kept = await api.get(f"/alerts/rules/{rule['id']}")
    assert (kept["expr"], kept["builder"], kept["updated_at"]) == (
        rule["expr"],
        rule["builder"],
        rule["updated_at"],
    )
    missing = await api.call("PUT", "/alerts/rules/9999/threshold", json=SPEC, expect=404)
    assert missing["error"]["code"] == "rule_not_found"
