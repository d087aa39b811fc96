"""Recording rules: CRUD, and evaluation into the embedded TSDB with Prometheus semantics."""

from __future__ import annotations

import time

import numpy as np

from opsplane.server.metrics.model import STALE_NAN
from opsplane.server.metrics.remote_write import TimeSeries
from tests.server.alerts.conftest import Api


async def write(api: Api, at: float, *series: tuple[dict[str, str], float]) -> None:
    ts = np.array([round(at * 1000)], dtype=np.int64)
    await api.ctx.tsdb.append(
        [TimeSeries(labels, ts, np.array([value], dtype=np.float64)) for labels, value in series]
    )


async def query(api: Api, expr: str, at: float) -> dict[tuple[tuple[str, str], ...], float]:
    body = await api.get("/../../prometheus/api/v1/query", params={"query": expr, "time": at})
    assert body["status"] == "success", body
    return {
        tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in body["data"]["result"]
    }


async def evaluate(api: Api, group: str, at: float) -> None:
    groups = {g["name"]: g["id"] for g in await api.get("/alerts/rule-groups")}
    _, scheduler = api.ctx.alerts.parts
    await scheduler.evaluate_group(groups[group], at)


def up(job: str, instance: str) -> dict[str, str]:
    return {"__name__": "probe_up", "job": job, "instance": instance}


async def test_crud_validation_and_audit(api: Api) -> None:
    rule = await api.post(
        "/alerts/recording-rules",
        {"record": "job:probe_up:sum", "expr": "sum by (job) (probe_up)", "group": "rec"},
    )
    assert (rule["record"], rule["group"], rule["enabled"], rule["health"]) == (
        "job:probe_up:sum",
        "rec",
        True,
        "unknown",
    )
    for bad in (
        {"record": "1bad", "expr": "up"},
        {"record": "ok", "expr": "sum(("},
        {"record": "ok", "expr": "up", "labels": {"__name__": "x"}},
    ):
        await api.call("POST", "/alerts/recording-rules", json=bad, expect=(400, 422))
    changed = await api.call(
        "PATCH", f"/alerts/recording-rules/{rule['id']}", json={"labels": {"team": "ops"}}
    )
    assert changed["labels"] == {"team": "ops"}
    assert changed["expr"] == "sum by (job) (probe_up)"
    await api.call("PATCH", f"/alerts/recording-rules/{rule['id']}", json={"expr": "("}, expect=422)
    await api.call("DELETE", f"/alerts/recording-rules/{rule['id']}")
    assert await api.get("/alerts/recording-rules") == []
    await api.call("GET", f"/alerts/recording-rules/{rule['id']}", expect=404)
    actions = [e["action"] for e in (await api.get("/audit"))["items"]]
    for action in ("recording_rule.create", "recording_rule.update", "recording_rule.delete"):
        assert action in actions


async def test_records_aggregates_with_rule_labels_and_stale_markers(api: Api) -> None:
    await api.post(
        "/alerts/recording-rules",
        {
            "record": "job:probe_up:sum",
            "expr": "sum by (job) (probe_up)",
            "labels": {"team": "ops"},
            "group": "rec",
        },
    )
    # An alert in the same group reads what was recorded in the same evaluation.
    await api.post(
        "/alerts/rules", {"name": "JobDown", "expr": "job:probe_up:sum < 2", "group": "rec"}
    )
    t0 = time.time() - 60
    await write(api, t0, (up("api", "a"), 1), (up("api", "b"), 1), (up("web", "c"), 0))
    await evaluate(api, "rec", t0 + 1)
    recorded = await query(api, "job:probe_up:sum", t0 + 1)
    assert recorded == {
        (("__name__", "job:probe_up:sum"), ("job", "api"), ("team", "ops")): 2.0,
        (("__name__", "job:probe_up:sum"), ("job", "web"), ("team", "ops")): 0.0,
    }
    firing = (await api.get("/alerts", params={"state": "firing"}))["items"]
    assert [a["labels"]["job"] for a in firing] == ["web"]
    (listed,) = await api.get("/alerts/recording-rules")
    assert (listed["health"], listed["series"]) == ("ok", 2)

    # `web` stops reporting (its scrape wrote a stale marker): the recorded series ends at
    # once too (the rule writes its own stale marker), not after the 5 minute lookback.
    await write(api, t0 + 15, (up("api", "a"), 1), (up("api", "b"), 0), (up("web", "c"), STALE_NAN))
    await evaluate(api, "rec", t0 + 16)
    later = await query(api, "job:probe_up:sum", t0 + 20)
    assert later == {(("__name__", "job:probe_up:sum"), ("job", "api"), ("team", "ops")): 1.0}


async def test_a_label_set_collision_is_an_error_and_writes_nothing(api: Api) -> None:
    rule = await api.post(
        "/alerts/recording-rules",
        {"record": "flat", "expr": "probe_up", "labels": {"instance": ""}, "group": "rec"},
    )
    t0 = time.time() - 30
    await write(api, t0, (up("api", "a"), 1), (up("api", "b"), 1))
    await evaluate(api, "rec", t0 + 1)
    assert await query(api, "flat", t0 + 1) == {}
    listed = await api.get(f"/alerts/recording-rules/{rule['id']}")
    assert listed["health"] == "err"
    assert "same labelset" in listed["last_error"]
