"""Rule health from the scheduler's last evaluation (Prometheus's `health`, `lastError`,
`lastEvaluation`, `evaluationTime`), in the rules API and the summary."""

from __future__ import annotations

import time
from datetime import datetime

from tests.server.alerts.conftest import Api, FakeBackend
from tests.server.alerts.test_engine import evaluate


def _tracking_changes(api: Api) -> list[int]:
    changes: list[int] = []
    api.ctx.alerts.on_change = lambda: changes.append(1)
    return changes


async def test_health_follows_the_last_evaluation(api: Api, backend: FakeBackend) -> None:
    rule = await api.post("/alerts/rules", {"name": "X", "expr": "sum(x) > 1"})
    assert (rule["health"], rule["last_error"], rule["last_evaluation"]) == ("unknown", "", None)
    assert rule["evaluation_duration_ms"] is None
    changes = _tracking_changes(api)
    path = f"/alerts/rules/{rule['id']}"

    tick = time.time()
    await evaluate(api, rule["id"], tick)
    ok = await api.get(path)
    assert (ok["health"], ok["last_error"]) == ("ok", "")
    assert abs(datetime.fromisoformat(ok["last_evaluation"]).timestamp() - tick) < 1e-3
    assert 0 <= ok["evaluation_duration_ms"] < 5000
    assert len(changes) == 1  # unknown -> ok

    backend.fail = True
    await evaluate(api, rule["id"])
    await evaluate(api, rule["id"])
    failed = await api.get(path)
    assert (failed["health"], failed["last_error"]) == ("err", "backend down")
    assert len(changes) == 2  # the second failure is no news
    listed = (await api.get("/alerts/rules"))["items"]
    assert [(r["name"], r["health"]) for r in listed] == [("X", "err")]
    summary = await api.get("/alerts/summary")
    assert summary["rules"] == {"total": 1, "enabled": 1, "failing": 1}
    [failing] = summary["failing_rules"]
    assert (failing["id"], failing["name"], failing["last_error"]) == (
        rule["id"],
        "X",
        "backend down",
    )

    # A new expression has not been evaluated yet; a disabled rule is not evaluated at all.
    edited = await api.call("PATCH", path, json={"expr": "sum(y) > 1"})
    assert edited["health"] == "unknown"
    backend.fail = False
    await evaluate(api, rule["id"])
    assert (await api.get(path))["health"] == "ok"
    assert (await api.post(f"{path}/disable"))["health"] == "unknown"
    assert (await api.get("/alerts/summary"))["rules"] == {"total": 1, "enabled": 0, "failing": 0}


async def test_what_the_real_query_engine_refuses_is_an_error(api: Api) -> None:
    """No fake: a range vector is no alert condition; the server's own engine says so."""
    rule = await api.post("/alerts/rules", {"name": "Range", "expr": "host_load1[5m]"})
    await evaluate(api, rule["id"])
    got = await api.get(f"/alerts/rules/{rule['id']}")
    assert got["health"] == "err"
    assert "needs a vector" in got["last_error"]


async def test_without_a_query_backend_only_fast_path_rules_are_healthy(api: Api) -> None:
    slow = await api.post("/alerts/rules", {"name": "Slow", "expr": "sum(x) > 1"})
    fast = await api.post("/alerts/rules", {"name": "Fast", "expr": "x > 1"})
    api.ctx.query_backend = None  # type: ignore[assignment]
    await evaluate(api, slow["id"])
    await evaluate(api, fast["id"])
    assert (await api.get(f"/alerts/rules/{fast['id']}"))["health"] == "ok"
    refused = await api.get(f"/alerts/rules/{slow['id']}")
    assert refused["health"] == "err"
    assert refused["last_error"].startswith("no query backend")
