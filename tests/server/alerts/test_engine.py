"""The engine end to end in-process: scheduled evaluation through a QueryBackend, the ingest
fast path, notifications to a real HTTP receiver, retries, the delivery log, escalation."""

from __future__ import annotations

import asyncio
import time

from opsplane.protocol.telemetry import MetricBatch, MetricPoint
from opsplane.server.alerts.alertmanager_in import AMAlert
from opsplane.server.bus.subjects import INGEST_METRICS, IngestMetrics, NodeRef
from tests.server.alerts.conftest import Api, FakeBackend
from tests.server.alerts.receiver import Receiver

NODE = NodeRef(id="n1", name="web-1", labels={"env": "prod"})


async def until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.02)
    raise TimeoutError("condition not met")


async def evaluate(api: Api, rule_id: int, now: float | None = None) -> None:
    engine = api.ctx.alerts
    _, scheduler = engine.parts
    await scheduler.evaluate_rule(engine.states[rule_id].rule, now or time.time())


async def test_scheduled_rule_fires_notifies_and_resolves(
    api: Api, backend: FakeBackend, receiver: Receiver
) -> None:
    await api.webhook_channel(receiver.url)
    expr = "rate(errors_total[5m]) > 1"
    rule = await api.post(
        "/alerts/rules",
        {
            "name": "Errors",
            "expr": expr,
            "for": "10s",
            "annotations": {"summary": "{{ $value }}/s"},
        },
    )
    assert rule["fast_path"] is False
    backend.set(expr, ({"__name__": "x", "service": "api"}, 3.5))
    t0 = time.time()
    await evaluate(api, rule["id"], t0)
    pending = await api.get("/alerts", params={"state": "pending"})
    assert [a["labels"]["service"] for a in pending["items"]] == ["api"]
    await evaluate(api, rule["id"], t0 + 10)
    firing = await api.get("/alerts", params={"state": "firing"})
    assert firing["items"][0]["annotations"] == {"summary": "3.5/s"}
    [request] = await asyncio.to_thread(receiver.wait, 1)
    body = request.json()
    assert body["status"] == "firing"
    assert body["alerts"][0]["labels"]["alertname"] == "Errors"
    assert body["incident_ids"] == [firing["items"][0]["incident_id"]]
    backend.set(expr)
    await evaluate(api, rule["id"], t0 + 20)
    requests = await asyncio.to_thread(receiver.wait, 2)
    assert requests[1].json()["status"] == "resolved"
    history = await api.get("/alerts/history", params={"rule_id": rule["id"]})
    assert [e["to_state"] for e in history["items"]] == ["resolved", "firing", "pending"]
    incident = await api.get(f"/incidents/{body['incident_ids'][0]}")
    assert incident["state"] == "resolved"


async def test_a_failing_query_keeps_the_state(api: Api, backend: FakeBackend) -> None:
    expr = "sum(x) > 1"
    rule = await api.post("/alerts/rules", {"name": "X", "expr": expr})
    backend.set(expr, ({}, 2.0))
    await evaluate(api, rule["id"])
    backend.fail = True
    await evaluate(api, rule["id"])
    assert len((await api.get("/alerts", params={"state": "firing"}))["items"]) == 1


async def test_fast_path_notifies_when_the_sample_arrives(api: Api, receiver: Receiver) -> None:
    # The scheduled evaluation reads a fake backend holding nothing for this metric, so the
    # notification can only come from the ingest fast path (bench/alerting.py times it).
    await api.webhook_channel(receiver.url)
    rule = await api.post(
        "/alerts/rules/threshold",
        {
            "name": "HotCPU",
            "metric": "host_cpu_percent",
            "labels": {"env": "prod"},
            "operator": ">",
            "threshold": 90,
        },
    )
    assert rule["fast_path"] is True
    bus = api.ctx.bus
    now_ms = int(time.time() * 1000)

    def batch(value: float, seq: int) -> IngestMetrics:
        point = MetricPoint("host_cpu_percent", {"cpu": "total"}, now_ms + seq, value)
        return IngestMetrics(node=NODE, batch=MetricBatch(seq, seq, (point,)))

    await bus.publish(INGEST_METRICS, batch(50, 1))
    await asyncio.sleep(0.2)
    assert receiver.requests == []
    await bus.publish(INGEST_METRICS, batch(97, 2))
    await until(lambda: receiver.requests, timeout=5)
    body = receiver.requests[0].json()
    labels = body["alerts"][0]["labels"]
    assert labels | {"node_id": "n1"} == {
        "alertname": "HotCPU",
        "severity": "warning",
        "cpu": "total",
        "env": "prod",
        "node": "web-1",
        "node_id": "n1",
        "job": "opsplane-agent",
    }
    await bus.publish(INGEST_METRICS, batch(10, 3))
    await until(lambda: len(receiver.requests) >= 2, timeout=5)
    assert receiver.requests[1].json()["status"] == "resolved"


async def test_5xx_is_retried_4xx_is_not_and_every_attempt_is_logged(
    api: Api, receiver: Receiver
) -> None:
    channel = await api.webhook_channel(receiver.url)
    receiver.statuses[:] = [503, 502, 200]
    payload = {
        "version": "4",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": {"alertname": "A"}, "fingerprint": "a1"}],
    }
    await api.post("/alerts/alertmanager", payload)

    async def attempts() -> list[tuple[int, str, int | None]]:
        page = await api.get("/alerts/deliveries", params={"channel_id": channel["id"]})
        return [(d["attempt"], d["status"], d["http_status"]) for d in page["items"][::-1]]

    await until(lambda: _has(attempts, 3))
    assert await attempts() == [(1, "retrying", 503), (2, "retrying", 502), (3, "ok", 200)]
    receiver.statuses[:] = [400]
    await api.post(
        "/alerts/alertmanager",
        payload
        | {"alerts": [{"status": "firing", "labels": {"alertname": "B"}, "fingerprint": "b1"}]},
    )
    await until(lambda: _has(attempts, 4))
    await asyncio.sleep(0.3)
    assert (await attempts())[-1] == (1, "failed", 400)
    assert len(await attempts()) == 4


async def _has(fetch: object, count: int) -> bool:
    return len(await fetch()) >= count  # type: ignore[operator]


async def test_escalation_when_nobody_acknowledges(api: Api, receiver: Receiver) -> None:
    first = await api.webhook_channel(receiver.url, name="first")
    second = await api.webhook_channel(receiver.url + "/escalation", name="boss", is_default=False)
    await api.call(
        "PUT",
        "/alerts/routes",
        json={"receivers": [first["id"]], "escalate_after": 0.5, "escalate_to": [second["id"]]},
    )
    payload = {
        "version": "4",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Down"}, "fingerprint": "d1"},
            {"status": "firing", "labels": {"alertname": "Acked"}, "fingerprint": "d2"},
        ],
    }
    got = await api.post("/alerts/alertmanager", payload)
    acked = (await api.get("/incidents", params={"search": "acked"}))["items"][0]["id"]
    await api.post(f"/incidents/{acked}/ack", {})
    await until(lambda: any(r.path == "/escalation" for r in receiver.requests), timeout=15)
    escalations = [r.json() for r in receiver.requests if r.path == "/escalation"]
    assert [e["kind"] for e in escalations] == ["escalation"]
    assert escalations[0]["alerts"][0]["labels"]["alertname"] == "Down"
    down = next(i for i in got["incident_ids"] if i != acked)
    events = await api.get(f"/incidents/{down}/events")
    assert "escalated" in [e["kind"] for e in events["items"]]


async def test_scheduled_rule_on_the_real_query_engine(api: Api, receiver: Receiver) -> None:
    """No fake: the sample goes through the bus into the TSDB, the group's 1 s tick queries it
    through the server's own QueryBackend."""
    await api.webhook_channel(receiver.url)
    await api.post("/alerts/rule-groups", {"name": "quick", "interval": "1s"})
    rule = await api.post(
        "/alerts/rules",
        {"name": "SumHigh", "expr": "sum by (node) (flip_value) > 1", "group": "quick"},
    )
    assert rule["fast_path"] is False
    point = MetricPoint("flip_value", {}, int(time.time() * 1000), 5.0)
    await api.ctx.bus.publish(
        INGEST_METRICS, IngestMetrics(node=NODE, batch=MetricBatch(1, 1, (point,)))
    )
    await until(lambda: receiver.requests, timeout=10)
    labels = receiver.requests[0].json()["alerts"][0]["labels"]
    assert labels == {"alertname": "SumHigh", "severity": "warning", "node": "web-1"}


async def test_rule_preview_shows_what_would_fire(api: Api, backend: FakeBackend) -> None:
    backend.set("up == 0", ({"__name__": "up", "instance": "a:9100"}, 0.0))
    preview = await api.post(
        "/alerts/rules/preview",
        {
            "name": "Down",
            "expr": "up == 0",
            "severity": "critical",
            "annotations": {"summary": "{{ $labels.instance | stripPort }} down"},
        },
    )
    assert preview["fast_path"] is True
    assert preview["alerts"] == [
        {
            "labels": {"instance": "a:9100", "alertname": "Down", "severity": "critical"},
            "annotations": {"summary": "a down"},
            "value": 0.0,
        }
    ]
    await api.post("/alerts/rules/preview", {"expr": "up =="}, expect=422)


async def test_chat_robots_get_their_own_payloads(api: Api, receiver: Receiver) -> None:
    """Slack, DingTalk (signed) and WeCom bodies, sent by the test button to a real endpoint."""
    bodies = {
        "slack": {"webhook_url": receiver.url + "/slack", "channel": "#ops"},
        "dingtalk": {"webhook_url": receiver.url + "/ding?access_token=t", "sign_secret": "S"},
        "wecom": {"webhook_url": receiver.url + "/wecom?key=k"},
    }
    for kind, settings in bodies.items():
        channel = await api.post("/alerts/channels", {"name": kind, "type": kind, **settings})
        assert (await api.post(f"/alerts/channels/{channel['id']}/test"))["ok"] is True
    slack, ding, wecom = receiver.requests
    assert slack.json()["channel"] == "#ops"
    assert slack.json()["attachments"][0]["color"] == "danger"
    assert ding.path.startswith("/ding?access_token=t&timestamp=")
    assert "&sign=" in ding.path
    assert ding.json()["msgtype"] == "markdown"
    assert "OpsplaneTest" in ding.json()["markdown"]["title"]
    assert wecom.json()["markdown"]["content"].startswith("### [TEST] [FIRING:1] OpsplaneTest")
    receiver.response_body = b'{"errcode": 310000, "errmsg": "sign not match"}'
    channel = await api.post(
        "/alerts/channels",
        {"name": "ding2", "type": "dingtalk", "webhook_url": receiver.url + "/d2"},
    )
    result = await api.post(f"/alerts/channels/{channel['id']}/test")
    assert result["ok"] is False
    assert result["error"] == "errcode 310000: sign not match"


async def test_summary(api: Api) -> None:
    await api.post(
        "/alerts/alertmanager",
        {
            "version": "4",
            "alerts": [{"status": "firing", "labels": {"alertname": "A", "severity": "critical"}}],
        },
    )
    summary = await api.get("/alerts/summary")
    assert summary["open_incidents"] == 1
    assert summary["recent_firing"][0]["name"] == "A"


async def test_other_domains_raise_and_end_alerts(api: Api, receiver: Receiver) -> None:
    await api.webhook_channel(receiver.url)
    alert = AMAlert(
        status="firing",
        labels={"alertname": "Backup", "job": "nightly"},
        annotations={"summary": "backup failed"},
        fingerprint="backup-1",
    )
    got = await api.ctx.alerts.raise_alerts([alert], source="opsplane-backup")
    assert got.firing == 1
    listed = await api.get("/alerts", params={"source": "opsplane-backup", "state": "firing"})
    assert [a["name"] for a in listed["items"]] == ["Backup"]
    await until(lambda: receiver.requests)
    ended = alert.model_copy(update={"status": "resolved"})
    await api.ctx.alerts.raise_alerts([ended], source="opsplane-backup")
    incident = await api.get(f"/incidents/{got.incident_ids[0]}")
    assert incident["state"] == "resolved"
