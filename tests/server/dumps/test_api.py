"""The compatible files API: filters, pagination, detail, status, per node, CSV, stats, roles."""

from __future__ import annotations

import csv
import io

from tests.server.dumps.conftest import Api, user_headers


async def _seed(api: Api) -> list[int]:
    ids = []
    for i, (node, app) in enumerate(
        [("n1", "shop"), ("n1", "billing"), ("n2", "shop"), ("n2", "search")]
    ):
        ids.append(
            await api.upload(
                f"LEAK c.L{i}\n".encode(),
                node=node,
                key=f"k{i}",
                app=app,
                name=f"java_pid{i}.hprof",
            )
        )
    for file_id in ids:
        await api.wait_status(file_id, "analyzed")
    return ids


async def test_list_filters_pagination_and_detail(api: Api) -> None:
    ids = await _seed(api)
    page = await api.call("GET", "/files", params={"limit": 3})
    assert [f["id"] for f in page["items"]] == ids[::-1][:3]
    rest = await api.call("GET", "/files", params={"limit": 3, "cursor": page["next_cursor"]})
    assert [f["id"] for f in rest["items"]] == [ids[0]]
    assert rest["next_cursor"] is None
    item = page["items"][0]
    assert {"id", "file_name", "node", "app", "namespace", "status", "size"} <= set(item)
    shop = await api.call("GET", "/files", params={"app": "shop"})
    assert {f["id"] for f in shop["items"]} == {ids[0], ids[2]}
    n2 = await api.call("GET", "/files/node/n2")
    assert {f["id"] for f in n2["items"]} == {ids[2], ids[3]}
    found = await api.call("GET", "/files", params={"search": "PID3"})
    assert [f["id"] for f in found["items"]] == [ids[3]]
    analyzed = await api.call("GET", "/files", params={"status": ["analyzed", "failed"]})
    assert len(analyzed["items"]) == 4
    none = await api.call("GET", "/files", params={"status": "failed"})
    assert none["items"] == []
    later = await api.call("GET", "/files", params={"since": "2999-01-01T00:00:00Z"})
    assert later["items"] == []
    detail = await api.call("GET", f"/files/{ids[0]}")
    assert [p["step"] for p in detail["processing"]] == [
        "upload",
        "analysis",
        "ai_analysis",
        "report",
    ]
    assert all(p["duration_seconds"] is not None for p in detail["processing"])
    assert detail["report"]["summary_source"] == "deterministic"
    assert "c.L0" in detail["report"]["summary"]


async def test_status_get_put_and_illegal_moves(api: Api) -> None:
    file_id = await api.upload(b"LEAK a.B\n")
    await api.wait_status(file_id, "analyzed")
    assert (await api.call("GET", f"/files/{file_id}/status"))["status"] == "analyzed"
    body = await api.call("PUT", f"/files/{file_id}/status", 409, json={"status": "uploading"})
    assert body["error"]["code"] == "illegal_transition"
    assert body["error"]["details"]["allowed"] == ["analyzing"]
    await api.call("GET", "/files/12345/status", 404)


async def test_csv_export(api: Api) -> None:
    ids = await _seed(api)
    response = await api.client.get(
        "/api/v1/files/export.csv", params={"node": "n1"}, headers=api.headers
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [ids[1], ids[0]]
    assert rows[0]["status"] == "analyzed"
    assert rows[0]["app"] == "billing"


async def test_dashboard_stats_and_metrics(api: Api) -> None:
    await _seed(api)
    stats = await api.call("GET", "/dumps/stats")
    assert stats["by_status"]["analyzed"] == 4
    assert stats["today"] == 4
    assert stats["top_apps"][0] == {"app": "shop", "count": 2}
    assert stats["by_node"] == {"n1": 2, "n2": 2}
    assert stats["success_rate"]["analysis"] == 1.0
    assert stats["mean_processing_seconds"] is not None
    text = (await api.client.get("/metrics")).text
    assert 'opsplane_dump_files{status="analyzed"} 4.0' in text
    assert 'opsplane_dump_files_by_node{node="n1"} 2.0' in text
    assert 'opsplane_dump_processing_success_ratio{step="analysis"} 1.0' in text
    assert 'opsplane_dump_files_per_app_day{app="shop"' in text
    assert "opsplane_dump_created_to_analyzed_seconds_mean" in text


async def test_viewers_read_operators_mutate(api: Api) -> None:
    file_id = await api.upload(b"LEAK a.B\n")
    await api.wait_status(file_id, "analyzed")
    viewer = await user_headers(api, "viewer")
    await api.call("GET", f"/files/{file_id}", headers=viewer)
    await api.call("GET", f"/reports/{file_id}", headers=viewer)
    body = await api.call("POST", f"/files/{file_id}/retry", 403, headers=viewer)
    assert body["error"]["code"] == "forbidden"
    await api.call("POST", f"/reports/{file_id}/refresh", 403, headers=viewer)
    await api.call(
        "POST", "/dumps/watch-rules", 403, headers=viewer, json={"name": "x", "paths": ["/d"]}
    )
