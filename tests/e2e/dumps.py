"""Heap dumps into a real server the way an external watcher sends them: a `created` notice
(`POST /api/v1/files/notify`), then the resumable upload API (chunks, sha256 at the end)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx

from tests.support.env import FIXTURES, require
from tests.support.processes import wait_for

HPROF = FIXTURES / "hprof"


def real_dump(name: str = "oracle_jdk8_05_x64.hprof") -> bytes:
    """A dump written by a real JVM (read-only shared fixture)."""
    path: Path = HPROF / name
    require(path.is_file(), f"HPROF fixture missing: {path}")
    return path.read_bytes()


def upload_dump(
    client: httpx.Client,
    data: bytes,
    *,
    node: str,
    path: str,
    app: str,
    namespace: str,
    stop_at: int | None = None,
) -> int:
    """Announce and upload `data` as the file at `path` on `node`; returns the file id.

    With `stop_at`, only the bytes before it are sent and the upload stays open (as when the
    watcher was cut off).
    """
    facts = {
        "node": node,
        "path": path,
        "file_key": path,
        "size": len(data),
        "app": app,
        "namespace": namespace,
    }
    client.post("/api/v1/files/notify", json={"event": "created", **facts}).raise_for_status()
    opened = client.post("/api/v1/uploads", json={**facts, "file_name": Path(path).name})
    opened.raise_for_status()
    upload = opened.json()
    offset, step = upload["offset"], upload["chunk_size"]
    end = len(data) if stop_at is None else stop_at
    while offset < end:
        ack = client.put(
            f"/api/v1/uploads/{upload['upload_id']}/chunks",
            params={"offset": offset},
            content=data[offset : min(offset + step, end)],
            headers={"content-type": "application/octet-stream"},
        )
        ack.raise_for_status()
        offset = ack.json()["offset"]
    if stop_at is not None:
        file_id: int = upload["file_id"]
        return file_id
    done = client.post(
        f"/api/v1/uploads/{upload['upload_id']}/complete",
        json={"sha256": hashlib.sha256(data).hexdigest()},
    )
    done.raise_for_status()
    completed: int = done.json()["file_id"]
    return completed


def wait_for_status(
    client: httpx.Client, file_id: int, *states: str, timeout: float = 60
) -> dict[str, Any]:
    """The file's detail once its status is one of `states`."""

    def detail() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/api/v1/files/{file_id}").json()
        return body if body["status"] in states else None

    found: dict[str, Any] = wait_for(
        detail, timeout=timeout, interval=0.25, what=f"file {file_id} {'/'.join(states)}"
    )
    return found
