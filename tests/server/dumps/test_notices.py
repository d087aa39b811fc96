"""Notices drive the state machine idempotently; agents upload with their own credential."""

from __future__ import annotations

import hashlib
import time

from opsplane.protocol.files import FileBatch, FileNotice
from opsplane.server.bus.subjects import INGEST_FILES, IngestFiles, NodeRef
from tests.server.dumps.conftest import Api


async def register(api: Api, name: str) -> tuple[str, dict[str, str]]:
    token = (await api.call("POST", "/agents/enrollment-tokens", 201, json={"name": name}))["token"]
    body = await api.call(
        "POST", "/agents/register", 201, json={"token": token, "name": name, "inventory": {}}
    )
    return body["node_id"], {"Authorization": f"Bearer {body['credential']}"}


def notice(event: str, key: str = "k1", **kw: object) -> FileNotice:
    return FileNotice(
        event=event,
        key=key,
        path=f"/dumps/{key}.hprof",
        size=100,  # type: ignore[arg-type]
        at=time.time(),
        **kw,
    )  # type: ignore[arg-type]


async def publish(api: Api, node_id: str, name: str, *notices: FileNotice) -> None:
    batch = FileBatch(first_seq=1, seq=1, notices=notices)
    await api.ctx.bus.publish(INGEST_FILES, IngestFiles(NodeRef(node_id, name), batch))


async def _only_file(api: Api) -> dict:
    items = (await api.call("GET", "/files"))["items"]
    assert len(items) == 1, items
    return await api.call("GET", f"/files/{items[0]['id']}")


async def test_agent_notices_then_agent_upload(api: Api) -> None:
    node_id, agent = await register(api, "web-1")
    created = notice("created", app="shop", namespace="prod", metadata={"pod": "shop-0"})
    await publish(api, node_id, "web-1", created, created)  # a resent notice changes nothing
    file = await _only_file(api)
    assert (file["status"], file["node"], file["app"], file["namespace"]) == (
        "created",
        "web-1",
        "shop",
        "prod",
    )
    await publish(api, node_id, "web-1", notice("upload_started"))
    assert (await _only_file(api))["status"] == "uploading"

    data = b"LEAK x.Y\n" + b"0" * 1000
    opened = await api.call(
        "POST",
        "/uploads",
        201,
        headers=agent,
        json={"file_key": "k1", "path": "/dumps/k1.hprof", "size": len(data)},
    )
    assert opened["file_id"] == file["id"]  # attached to the noticed record
    uid = opened["upload_id"]
    _other_id, other = await register(api, "web-2")
    await api.call("GET", f"/uploads/{uid}", 404, headers=other)  # not its node's upload
    response = await api.client.put(
        f"/api/v1/uploads/{uid}/chunks",
        params={"offset": 0},
        content=data,
        headers={**agent, "content-type": "application/octet-stream"},
    )
    assert response.json() == {"offset": len(data)}
    await api.call(
        "POST",
        f"/uploads/{uid}/complete",
        headers=agent,
        json={"sha256": hashlib.sha256(data).hexdigest()},
    )
    await publish(api, node_id, "web-1", notice("upload_completed"))  # late: no effect
    done = await api.wait_status(file["id"], "analyzed")
    assert done["metadata"] == {"pod": "shop-0"}
    # agents may not call the rest of the API
    await api.call("GET", "/files", 403, headers=agent)


async def test_upload_failed_schedules_a_retry_and_missing_cancels_it(
    api: Api,
) -> None:
    api.ctx.dumps.config = api.ctx.dumps.config.__class__(retry_base_delay=3600)
    node_id, _ = await register(api, "web-3")
    await publish(api, node_id, "web-3", notice("created"), notice("upload_started"))
    await publish(api, node_id, "web-3", notice("upload_failed", error="disk read error"))
    file = await _only_file(api)
    assert (file["status"], file["error"]) == ("failed", "disk read error")
    assert [(r["retry_type"], r["status"], r["count"]) for r in file["retries"]] == [
        ("upload", "pending", 0)
    ]
    await publish(api, node_id, "web-3", notice("missing"))
    file = await _only_file(api)
    assert (file["status"], file["error_type"]) == ("failed", "missing")
    assert file["retries"][0]["status"] == "cancelled"


async def test_external_watcher_notify(api: Api) -> None:
    body = {
        "event": "created",
        "node": "legacy-7",
        "path": "/var/dumps/a.hprof",
        "size": 10,
        "app": "billing",
    }
    first = await api.call("POST", "/files/notify", json=body)
    again = await api.call("POST", "/files/notify", json=body)
    assert first["id"] == again["id"]
    assert first["status"] == "created"
    assert first["source"] == "external"
    assert first["node_id"] is None
    started = await api.call("POST", "/files/notify", json={**body, "event": "upload_started"})
    assert started["status"] == "uploading"
    audit = await api.call("GET", "/audit", params={"action": "dumps.file.notify"})
    assert len(audit["items"]) == 3
