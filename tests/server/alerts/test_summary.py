"""`GET /alerts/summary` (and the `alerts` stream topic): counts over every source."""

from __future__ import annotations

from typing import Any

from tests.server.alerts.conftest import Api


def _firing(name: str, fingerprint: str, **labels: str) -> dict[str, Any]:
    return {"status": "firing", "labels": {"alertname": name, **labels}, "fingerprint": fingerprint}


async def test_summary_counts_every_source(api: Api) -> None:
    await api.post("/alerts/rules", {"name": "Off", "expr": "x > 1", "enabled": False})
    await api.post("/alerts/rules", {"name": "On", "expr": "x > 1"})
    payload = {
        "version": "4",
        "alerts": [
            _firing("A", "a1", severity="critical"),
            _firing("A", "a2", severity="critical", node="n2"),
            _firing("B", "b1", severity="warning"),
        ],
    }
    got = await api.post("/alerts/alertmanager", payload)
    incident_b = next(
        i["id"] for i in (await api.get("/incidents"))["items"] if i["title"].startswith("B")
    )
    await api.post(f"/incidents/{incident_b}/ack", {})
    summary = await api.get("/alerts/summary")
    assert summary["counts"] == {"pending": 0, "firing": 3}
    assert summary["firing_by_severity"] == {"critical": 2, "warning": 1}
    assert summary["rule_firing_by_severity"] == {}  # none of them comes from a rule
    assert summary["incidents"] == {"open": 1, "acknowledged": 1}
    assert summary["open_incidents"] == 2 == len(got["incident_ids"])
    assert summary["rules"] == {"total": 2, "enabled": 1, "failing": 0}
    assert summary["failing_rules"] == []
    assert {a["name"] for a in summary["recent_firing"]} == {"A", "B"}
