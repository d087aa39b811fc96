"""The upload HTTP API exactly as agents use it (offsets, 409/413/422, resume, sha256)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.server.dumps.conftest import Api

OCTET = {"content-type": "application/octet-stream"}


async def _open(api: Api, size: int, key: str = "k1", expect: int = 201) -> dict:
    return await api.call(
        "POST",
        "/uploads",
        expect,
        json={"file_key": key, "path": "/d/java_pid7.hprof", "size": size, "node": "host-1"},
    )


async def _put(api: Api, upload_id: str, offset: int, data: bytes, expect: int = 200) -> dict:
    response = await api.client.put(
        f"/api/v1/uploads/{upload_id}/chunks",
        params={"offset": offset},
        content=data,
        headers={**api.headers, **OCTET},
    )
    assert response.status_code == expect, response.text
    return response.json()


async def test_resume_offsets_and_errors(api: Api) -> None:
    data = b"LEAK a.B\n" + bytes(range(256)) * 1000  # 256 kB: four 64 kB chunks
    first = await _open(api, len(data))
    assert first["offset"] == 0
    assert first["state"] == "open"
    assert first["chunk_size"] == 65536
    again = await _open(api, len(data), expect=200)
    assert again["upload_id"] == first["upload_id"]
    uid = first["upload_id"]

    assert (await _put(api, uid, 0, data[:65536]))["offset"] == 65536
    mismatch = await _put(api, uid, 0, data[:100], expect=409)
    assert mismatch["error"]["code"] == "offset_mismatch"
    assert mismatch["error"]["details"]["offset"] == 65536
    too_big = await _put(api, uid, 65536, data[65536 : 65536 + 65537], expect=413)
    assert too_big["error"]["code"] == "chunk_too_large"
    # a resumed client asks where to go on
    assert (await api.call("GET", f"/uploads/{uid}"))["offset"] == 65536
    offset = 65536
    while offset < len(data):
        offset = (await _put(api, uid, offset, data[offset : offset + 65536]))["offset"]
    incomplete_sha = hashlib.sha256(b"other").hexdigest()
    bad = await api.call("POST", f"/uploads/{uid}/complete", 422, json={"sha256": incomplete_sha})
    assert bad["error"]["code"] == "sha256_mismatch"
    assert (await api.call("GET", f"/uploads/{uid}"))["offset"] == 0  # discarded: start over
    offset = 0
    while offset < len(data):
        offset = (await _put(api, uid, offset, data[offset : offset + 65536]))["offset"]
    done = await api.call(
        "POST", f"/uploads/{uid}/complete", json={"sha256": hashlib.sha256(data).hexdigest()}
    )
    assert done == {"file_id": first["file_id"], "state": "complete"}
    state = await api.call("GET", f"/uploads/{uid}")
    assert state["state"] == "complete"
    assert state["offset"] == len(data)
    # the stored blob is byte-identical
    file = await api.wait_status(first["file_id"], "analyzed")
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    stored = await api.client.get(f"/api/v1/files/{first['file_id']}/download", headers=api.headers)
    assert stored.content == data
    # a finished file's upload is answered as complete, not restarted
    assert (await _open(api, len(data), expect=200))["state"] == "complete"
    upload_steps = [p for p in file["processing"] if p["step"] == "upload"]
    assert [(p["status"], p["error_type"]) for p in upload_steps] == [
        ("failed", "sha256_mismatch"),
        ("success", None),
    ]


async def test_partial_bytes_past_the_acked_offset_are_cut(api: Api) -> None:
    """What a crash mid-chunk leaves behind is overwritten by the resent chunk."""
    data = b"LEAK a.B\n" + b"z" * 100_000
    opened = await _open(api, len(data))
    uid = opened["upload_id"]
    await _put(api, uid, 0, data[:50_000])
    part: Path = api.ctx.dumps.uploads.part(uid)
    with part.open("ab") as f:
        f.write(b"garbage from an interrupted write")
    await _put(api, uid, 50_000, data[50_000:])
    await api.call(
        "POST", f"/uploads/{uid}/complete", json={"sha256": hashlib.sha256(data).hexdigest()}
    )


async def test_chunk_beyond_the_declared_size_is_413(api: Api) -> None:
    opened = await _open(api, 10)
    body = await _put(api, opened["upload_id"], 0, b"x" * 11, expect=413)
    assert body["error"]["code"] == "chunk_too_large"


async def test_complete_before_all_bytes_is_409(api: Api) -> None:
    opened = await _open(api, 10)
    await _put(api, opened["upload_id"], 0, b"x" * 5)
    body = await api.call(
        "POST", f"/uploads/{opened['upload_id']}/complete", 409, json={"sha256": "0" * 64}
    )
    assert body["error"]["code"] == "upload_incomplete"
    assert body["error"]["details"]["offset"] == 5


async def test_operator_must_name_the_node(api: Api) -> None:
    body = await api.call(
        "POST", "/uploads", 422, json={"file_key": "k", "path": "/d/x.hprof", "size": 3}
    )
    assert body["error"]["code"] == "node_required"


async def test_a_changed_size_starts_a_new_upload(api: Api) -> None:
    first = await _open(api, 100)
    second = await _open(api, 200)
    assert second["upload_id"] != first["upload_id"]
    assert second["file_id"] == first["file_id"]


async def test_a_crash_after_storing_but_before_recording_is_finished_on_retry(
    api: Api,
) -> None:
    data = b"LEAK a.B\n" + b"q" * 3000
    opened = await _open(api, len(data))
    uid = opened["upload_id"]
    await _put(api, uid, 0, data)
    uploads = api.ctx.dumps.uploads
    async with api.ctx.db.session() as session:
        from opsplane.server.dumps import files
        from opsplane.server.dumps.uploads import blob_key

        key = blob_key(await files.get_file(session, opened["file_id"]))
    await api.ctx.blobs.put_file(key, uploads.part(uid))  # moved in; then the process died
    done = await api.call(
        "POST", f"/uploads/{uid}/complete", json={"sha256": hashlib.sha256(data).hexdigest()}
    )
    assert done["state"] == "complete"
    await api.wait_status(opened["file_id"], "analyzed")
