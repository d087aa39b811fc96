"""Dump pipeline fixtures: fast retries, a fake analysis worker, API and upload helpers."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsplane.server.context import ServerContext
from opsplane.server.settings import Settings
from tests.conftest import bearer
from tests.support.processes import ADMIN_PASSWORD

FAKE_WORKER = (sys.executable, str(Path(__file__).with_name("fake_worker.py")))


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        heartbeat_interval=1.0,
        log_json=False,
        dumps_chunk_size=64 * 1024,
        dumps_retry_base_delay=0.05,
        dumps_retry_max_delay=0.2,
        dumps_retry_check_interval=0.05,
        dumps_analysis_timeout=20,
        dumps_metrics_interval=3600,
        dumps_jenkins_poll_interval=0.05,
        alerts_group_interval=0.2,
        alerts_retry_base_delay=0.05,
    )


@dataclass
class Api:
    client: httpx.AsyncClient
    headers: dict[str, str]

    @property
    def ctx(self) -> ServerContext:
        ctx: ServerContext = self.client.app.state.ctx  # type: ignore[attr-defined]
        return ctx

    async def call(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        response = await self.client.request(
            method, f"/api/v1{path}", headers={**self.headers, **kw.pop("headers", {})}, **kw
        )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        if response.status_code == 204:
            return None
        ctype = response.headers.get("content-type", "")
        return response.json() if ctype.startswith("application/json") else response

    async def upload(
        self,
        data: bytes,
        *,
        node: str = "host-1",
        key: str = "k1",
        name: str = "java_pid1.hprof",
        app: str | None = "shop",
        namespace: str | None = "prod",
    ) -> int:
        """Upload `data` as an external watcher would; returns the file id."""
        opened = await self.call(
            "POST",
            "/uploads",
            201,
            json={
                "file_key": key,
                "path": f"/dumps/{name}",
                "file_name": name,
                "size": len(data),
                "node": node,
                "app": app,
                "namespace": namespace,
            },
        )
        offset, step = 0, opened["chunk_size"]
        while offset < len(data):
            ack = await self.call(
                "PUT",
                f"/uploads/{opened['upload_id']}/chunks",
                params={"offset": offset},
                content=data[offset : offset + step],
                headers={"content-type": "application/octet-stream"},
            )
            offset = ack["offset"]
        done = await self.call(
            "POST",
            f"/uploads/{opened['upload_id']}/complete",
            json={"sha256": hashlib.sha256(data).hexdigest()},
        )
        return int(done["file_id"])

    async def wait_status(self, file_id: int, *states: str, timeout: float = 20) -> dict[str, Any]:
        import asyncio
        import time

        deadline = time.monotonic() + timeout
        while True:
            detail: dict[str, Any] = await self.call("GET", f"/files/{file_id}")
            if detail["status"] in states:
                return detail
            if time.monotonic() > deadline:
                raise AssertionError(f"file {file_id} stayed {detail['status']}: {detail}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def api(app_client: httpx.AsyncClient, admin_headers: dict[str, str]) -> AsyncIterator[Api]:
    ctx: ServerContext = app_client.app.state.ctx  # type: ignore[attr-defined]
    ctx.dumps.builtin.command = FAKE_WORKER
    yield Api(app_client, admin_headers)
    await ctx.dumps.idle(10)


async def user_headers(api: Api, role: str) -> dict[str, str]:
    await api.call(
        "POST",
        "/users",
        201,
        json={"username": role + "1", "password": "pw-" + role * 3, "role": role},
    )
    return await bearer(api.client, role + "1", "pw-" + role * 3)
