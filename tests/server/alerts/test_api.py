"""The alerting API on SQLite and PostgreSQL: rules, rule files, channels, routes, silences,
inhibition, Alertmanager in, incidents, audit."""

from __future__ import annotations

import json

import yaml

from opsplane.server.alerts.snapshots import alerts_snapshot
from tests.server.alerts.conftest import Api
from tests.server.alerts.receiver import Receiver
from tests.support.env import FIXTURES

RULE = {
    "name": "HighCPU",
    "expr": "host_cpu_percent > 90",
    "for": "1m",
    "labels": {"team": "ops"},
    "annotations": {"summary": "{{ $labels.node }} hot"},
    "severity": "critical",
}
RULE_FILE = """
groups:
  - name: node
    interval: 30s
    rules:
      - alert: NodeDown
        expr: up{job="node"} == 0
        for: 2m
        keep_firing_for: 1m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} down"}
      - record: job:up:sum
        expr: sum(up) by (job)
  - name: disk
    rules:
      - alert: DiskFull
        expr: disk_used_percent > 95
"""


def fixture_payload() -> dict[str, object]:
    body: dict[str, object] = json.loads(
        (FIXTURES / "alertmanager" / "webhook-v4-firing.json").read_text()
    )
    return body


async def test_rule_crud_and_enable_disable(api: Api) -> None:
    rule = await api.post("/alerts/rules", RULE)
    assert (rule["for"], rule["severity"], rule["group"]) == (60, "critical", "default")
    assert rule["fast_path"] is True
    assert rule["enabled"] is True
    rule_id = rule["id"]
    changed = await api.call(
        "PATCH", f"/alerts/rules/{rule_id}", json={"for": "5m", "expr": "host_cpu_percent > 95"}
    )
    assert changed["for"] == 300
    assert changed["expr"] == "host_cpu_percent > 95"
    assert (await api.post(f"/alerts/rules/{rule_id}/disable"))["enabled"] is False
    assert rule_id not in api.ctx.alerts.states
    assert (await api.post(f"/alerts/rules/{rule_id}/enable"))["enabled"] is True
    assert rule_id in api.ctx.alerts.states
    page = await api.get("/alerts/rules", params={"search": "cpu"})
    assert [r["id"] for r in page["items"]] == [rule_id]
    await api.call("DELETE", f"/alerts/rules/{rule_id}")
    await api.get(f"/alerts/rules/{rule_id}", expect=404)
    audit = await api.get("/audit", params={"action": "alert_rule"})
    actions = {e["action"] for e in audit["items"]}
    assert {
        "alert_rule.create",
        "alert_rule.update",
        "alert_rule.disable",
        "alert_rule.enable",
        "alert_rule.delete",
    } <= actions


async def test_rule_validation(api: Api) -> None:
    bad_expr = await api.post("/alerts/rules", RULE | {"expr": "cpu{"}, expect=422)
    assert bad_expr["error"]["code"] == "bad_expr"
    bad_template = await api.post(
        "/alerts/rules", RULE | {"annotations": {"x": "{{ if true }}y{{ end }}"}}, expect=422
    )
    assert bad_template["error"]["code"] == "bad_template"
    await api.post("/alerts/rules", RULE | {"for": "5 minutes"}, expect=422)
    await api.post("/alerts/rules", RULE | {"name": "bad name"}, expect=422)
    reserved = await api.post("/alerts/rules", RULE | {"labels": {"alertname": "x"}}, expect=422)
    assert reserved["error"]["code"] == "reserved_label"


async def test_rule_pagination(api: Api) -> None:
    for i in range(5):
        await api.post("/alerts/rules", RULE | {"name": f"R{i}"})
    first = await api.get("/alerts/rules", params={"limit": 2})
    second = await api.get("/alerts/rules", params={"limit": 2, "cursor": first["next_cursor"]})
    third = await api.get("/alerts/rules", params={"limit": 2, "cursor": second["next_cursor"]})
    names = [r["name"] for p in (first, second, third) for r in p["items"]]
    assert names == [f"R{i}" for i in range(5)]
    assert third["next_cursor"] is None


async def test_threshold_builder(api: Api) -> None:
    body = {
        "name": "HostCPU",
        "metric": "host_cpu_percent",
        "nodes": ["web-1"],
        "operator": ">",
        "threshold": 90,
        "clear_threshold": 80,
        "for": "30s",
        "severity": "warning",
    }
    preview = await api.post("/alerts/rules/threshold/preview", body)
    assert preview == {
        "expr": 'host_cpu_percent{node="web-1"} > 90',
        "eval_expr": 'host_cpu_percent{node="web-1"} > 80',
        "fast_path": True,
    }
    rule = await api.post("/alerts/rules/threshold", body)
    assert rule["expr"] == preview["expr"]
    assert rule["builder"]["clear_threshold"] == 80
    assert rule["annotations"]["summary"].startswith("host_cpu_percent is {{ $value }}")
    assert rule["for"] == 30
    assert rule["fast_path"]


async def test_import_and_export_rule_files(api: Api) -> None:
    result = await api.call(
        "POST",
        "/alerts/rules/import",
        content=RULE_FILE,
        headers={"content-type": "application/yaml"},
    )
    assert result["groups"] == ["node", "disk"]
    assert result["created"] == 2
    assert result["recording"] == 1
    assert result["skipped"] == []
    (recorded,) = await api.get("/alerts/recording-rules")
    assert (recorded["record"], recorded["expr"], recorded["group"]) == (
        "job:up:sum",
        "sum(up) by (job)",
        "node",
    )
    groups = {g["name"]: g for g in await api.get("/alerts/rule-groups")}
    assert groups["node"]["interval_s"] == 30
    assert groups["disk"]["interval_s"] == 15
    exported = yaml.safe_load(await api.get("/alerts/rules/export"))
    node = next(g for g in exported["groups"] if g["name"] == "node")
    assert node["interval"] == "30s"
    assert node["rules"] == [
        {"record": "job:up:sum", "expr": "sum(up) by (job)"},  # recording rules first
        {
            "alert": "NodeDown",
            "expr": 'up{job="node"} == 0',
            "for": "2m",
            "keep_firing_for": "1m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "{{ $labels.instance }} down"},
        },
    ]
    again = await api.call("POST", "/alerts/rules/import", content=RULE_FILE)
    assert again["replaced"] == 3
    total = await api.get("/alerts/rules")
    assert len(total["items"]) == 2
    assert len(await api.get("/alerts/recording-rules")) == 1


async def test_import_is_all_or_nothing(api: Api) -> None:
    bad = RULE_FILE.replace("disk_used_percent > 95", "disk_used_percent >")
    error = await api.call("POST", "/alerts/rules/import", content=bad, expect=422)
    assert "groups[1].rules[0]" in error["error"]["message"]
    assert (await api.get("/alerts/rules"))["items"] == []
    assert await api.call("POST", "/alerts/rules/import", content="{}", expect=422)
    assert await api.call("POST", "/alerts/rules/import", content="a: [", expect=422)


async def test_channel_secrets_are_hidden_and_kept(api: Api) -> None:
    channel = await api.post(
        "/alerts/channels",
        {
            "name": "mail",
            "type": "email",
            "config": {
                "host": "127.0.0.1",
                "port": 2525,
                "security": "none",
                "username": "u",
                "password": "hunter2",
                "from_addr": "ops@example.com",
                "to": ["a@example.com"],
            },
        },
    )
    assert channel["secrets_set"] == ["password"]
    assert "password" not in channel["config"]
    assert "hunter2" not in json.dumps(await api.get("/alerts/channels"))
    updated = await api.call(
        "PATCH", f"/alerts/channels/{channel['id']}", json={"config": {"port": 2526}}
    )
    assert updated["config"]["port"] == 2526
    assert updated["secrets_set"] == ["password"]
    engine = api.ctx.alerts
    assert engine.channels[channel["id"]].secrets == {"password": "hunter2"}
    audit = await api.get("/audit", params={"action": "alert_channel"})
    assert "hunter2" not in json.dumps(audit)
    await api.post(
        "/alerts/channels", {"name": "mail", "type": "webhook", "url": "http://x"}, expect=409
    )
    await api.post("/alerts/channels", {"name": "x", "type": "webhook", "url": "nope"}, expect=422)


async def test_channel_test_button_delivers_and_logs(api: Api, receiver: Receiver) -> None:
    channel = await api.webhook_channel(receiver.url, hmac_secret="s3cret")
    result = await api.post(f"/alerts/channels/{channel['id']}/test")
    assert result["ok"] is True
    assert result["http_status"] == 200
    [request] = receiver.requests
    assert request.json()["kind"] == "test"
    assert request.headers["x-opsplane-signature"].startswith("sha256=")
    log = await api.get("/alerts/deliveries", params={"channel_id": channel["id"]})
    assert [(d["status"], d["kind"], d["attempt"]) for d in log["items"]] == [("ok", "test", 1)]


async def test_routes_tree(api: Api, receiver: Receiver) -> None:
    channel = await api.webhook_channel(receiver.url)
    tree = {
        "receivers": [channel["id"]],
        "group_by": ["alertname", "node"],
        "routes": [
            {
                "matchers": [{"name": "severity", "value": "critical"}],
                "receivers": [channel["id"]],
                "group_wait": "5s",
                "escalate_after": "10m",
                "escalate_to": [channel["id"]],
            }
        ],
    }
    saved = await api.call("PUT", "/alerts/routes", json=tree)
    assert saved["routes"][0]["group_wait"] == 5
    got = await api.get("/alerts/routes")
    assert got["routes"][0]["escalate_after"] == 600
    bad = await api.call("PUT", "/alerts/routes", json={"receivers": [999]}, expect=422)
    assert bad["error"]["code"] == "unknown_channel"
    await api.call(
        "PUT", "/alerts/routes", json={"matchers": [{"name": "a", "value": "b"}]}, expect=422
    )


async def test_alertmanager_in_opens_dedups_and_resolves(api: Api, receiver: Receiver) -> None:
    await api.webhook_channel(receiver.url)
    payload = fixture_payload()
    payload["unknownField"] = {"ignored": True}
    got = await api.post("/alerts/alertmanager", payload)
    assert got["firing"] == 1
    assert len(got["incident_ids"]) == 1
    incident_id = got["incident_ids"][0]
    again = await api.post("/alerts/alertmanager", payload)
    assert again["incident_ids"] == [incident_id]
    alerts = await api.get("/alerts", params={"state": "firing"})
    assert len(alerts["items"]) == 1
    assert alerts["items"][0]["source"] == "alertmanager"
    assert alerts["items"][0]["fingerprint"] == "82f8269e536994bb"
    incidents = await api.get("/incidents")
    assert [(i["id"], i["state"], i["firing_count"]) for i in incidents["items"]] == [
        (incident_id, "open", 1)
    ]
    ack = await api.post(f"/incidents/{incident_id}/ack", {"comment": "on it"})
    assert ack["state"] == "acknowledged"
    assert ack["acknowledged_by"] == "admin"
    resolved = json.loads(
        json.dumps(payload)
        .replace('"firing"', '"resolved"')
        .replace("0001-01-01T00:00:00Z", "2026-11-22T11:05:00Z")
    )
    await api.post("/alerts/alertmanager", resolved)
    incident = await api.get(f"/incidents/{incident_id}")
    assert incident["state"] == "resolved"
    assert incident["alerts"][0]["state"] == "resolved"
    events = await api.get(f"/incidents/{incident_id}/events")
    assert [e["kind"] for e in events["items"]] == [
        "opened",
        "acknowledged",
        "alert_resolved",
        "resolved",
    ]
    bodies = receiver.wait(1)
    assert bodies[0].json()["alerts"][0]["labels"]["alertname"] == "ProbeAlwaysFiring"
    log = await api.get("/alerts/deliveries", params={"incident_id": incident_id})
    assert log["items"]
    assert all(incident_id in d["incident_ids"] for d in log["items"])
    snapshot = await alerts_snapshot(api.ctx)
    assert snapshot["open_incidents"] == 0
    assert snapshot["recent_firing"] == []


async def test_alertmanager_in_rejects_other_versions(api: Api) -> None:
    payload = fixture_payload() | {"version": "3"}
    await api.post("/alerts/alertmanager", payload, expect=422)


async def test_silences_crud_and_silence_from_alert(api: Api) -> None:
    got = await api.post("/alerts/alertmanager", fixture_payload())
    alert = (await api.get("/alerts", params={"state": "firing"}))["items"][0]
    assert alert["silenced_by"] == []
    silence = await api.post(f"/alerts/{alert['id']}/silence", {"duration": "1h"})
    assert silence["state"] == "active"
    assert {m["name"] for m in silence["matchers"]} == {"alertname", "severity"}
    alert = await api.get(f"/alerts/{alert['id']}")
    assert alert["silenced_by"] == [silence["id"]]
    weekly = await api.post(
        "/alerts/silences",
        {
            "matchers": [{"name": "env", "op": "=~", "value": "prod|stage"}],
            "recurrence": {"weekdays": [5, 6], "start": "02:00", "duration_minutes": 120},
        },
    )
    assert weekly["state"] in ("active", "scheduled")
    await api.post(
        "/alerts/silences",
        {"matchers": [{"name": "a", "op": "=~", "value": ".*"}], "ends_at": "2099-01-01T00:00:00Z"},
        expect=422,
    )
    await api.post("/alerts/silences", {"matchers": [{"name": "a", "value": "b"}]}, expect=422)
    expired = await api.call("DELETE", f"/alerts/silences/{silence['id']}")
    assert expired["state"] == "expired"
    assert (await api.get(f"/alerts/{alert['id']}"))["silenced_by"] == []
    active = await api.get("/alerts/silences", params={"state": "expired"})
    assert [s["id"] for s in active["items"]] == [silence["id"]]
    assert got["firing"] == 1


async def test_inhibit_rules_crud_and_effect(api: Api) -> None:
    rule = await api.post(
        "/alerts/inhibit-rules",
        {
            "name": "critical mutes test",
            "source_matchers": [{"name": "severity", "value": "critical"}],
            "target_matchers": [{"name": "severity", "value": "test"}],
            "equal": [],
        },
    )
    await api.post("/alerts/alertmanager", fixture_payload())
    critical = fixture_payload()
    critical["alerts"] = [
        {
            "status": "firing",
            "fingerprint": "c1",
            "labels": {"alertname": "Big", "severity": "critical"},
        }
    ]
    await api.post("/alerts/alertmanager", critical)
    alerts = await api.get("/alerts", params={"state": "firing", "search": "probe"})
    assert alerts["items"][0]["inhibited"] is True
    await api.call("PATCH", f"/alerts/inhibit-rules/{rule['id']}", json={"enabled": False})
    alerts = await api.get("/alerts", params={"state": "firing", "search": "probe"})
    assert alerts["items"][0]["inhibited"] is False
    await api.call("DELETE", f"/alerts/inhibit-rules/{rule['id']}")
    assert await api.get("/alerts/inhibit-rules") == []
