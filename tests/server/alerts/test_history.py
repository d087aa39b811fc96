"""The alert history: every state change with its alert's name and labels, in one query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.server.alerts.conftest import Api


def _firing(name: str, fingerprint: str, **labels: str) -> dict[str, Any]:
    return {"status": "firing", "labels": {"alertname": name, **labels}, "fingerprint": fingerprint}


@contextmanager
def statements(api: Api) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    engine = api.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


async def test_history_names_its_alerts_in_one_query(api: Api) -> None:
    alerts = [_firing("Disk", f"d{i}", node=f"n{i}", severity="warning") for i in range(5)]
    await api.post("/alerts/alertmanager", {"version": "4", "alerts": alerts})
    with statements(api) as sql:
        page = await api.get("/alerts/history", params={"limit": 3})
    assert len([s for s in sql if "alert_events" in s]) == 1
    assert len(page["items"]) == 3
    newest = page["items"][0]
    alert = await api.get(f"/alerts/{newest['alert_id']}")
    assert (newest["name"], newest["labels"], newest["severity"]) == (
        "Disk",
        alert["labels"],
        "warning",
    )
    assert newest["incident_id"] == alert["incident_id"] is not None
    rest = await api.get("/alerts/history", params={"cursor": page["next_cursor"]})
    assert [e["labels"]["node"] for e in page["items"] + rest["items"]] == [
        "n4",
        "n3",
        "n2",
        "n1",
        "n0",
    ]
