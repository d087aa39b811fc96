"""Alerting test fixtures: fast timings, an API helper, a webhook receiver, a fake query backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from opsplane.server.context import ServerContext
from opsplane.server.settings import Settings
from tests.server.alerts.receiver import Receiver, running_receiver
from tests.support.processes import ADMIN_PASSWORD


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        heartbeat_interval=1.0,
        log_json=False,
        alerts_group_interval=0.2,
        alerts_retry_base_delay=0.05,
        alerts_reload_interval=60,
    )


class FakeBackend:
    """A QueryBackend answering every instant query with the vector it was given."""

    def __init__(self) -> None:
        self.vectors: dict[str, list[tuple[dict[str, str], float]]] = {}
        self.queries: list[tuple[str, float]] = []
        self.fail = False

    def set(self, expr: str, *samples: tuple[dict[str, str], float]) -> None:
        self.vectors[expr] = list(samples)

    async def instant_query(self, expr: str, time_s: float, *, timeout_s: float) -> dict[str, Any]:
        self.queries.append((expr, time_s))
        if self.fail:
            raise RuntimeError("backend down")
        return {
            "resultType": "vector",
            "result": [
                {"metric": labels, "value": [time_s, repr(value)]}
                for labels, value in self.vectors.get(expr, [])
            ],
        }

    async def range_query(self, *a: Any, **k: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def label_names(self, *a: Any) -> list[str]:
        return []

    async def label_values(self, *a: Any) -> list[str]:
        return []

    async def series(self, *a: Any) -> list[dict[str, str]]:
        return []

    async def metadata(self, *a: Any) -> dict[str, Any]:
        return {}


class Api:
    """The app in-process as an admin, with checks on every call."""

    def __init__(self, client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers

    @property
    def ctx(self) -> ServerContext:
        ctx: ServerContext = self.client.app.state.ctx  # type: ignore[attr-defined]
        return ctx

    async def call(
        self, method: str, path: str, expect: int | Sequence[int] = (200, 201, 204), **kwargs: Any
    ) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = await self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else tuple(expect)
        assert response.status_code in wanted, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return await self.call("POST", path, json=body, **kw)

    async def webhook_channel(self, url: str, name: str = "hook", **extra: Any) -> Any:
        return await self.post(
            "/alerts/channels", {"name": name, "type": "webhook", "url": url, **extra}
        )


@pytest.fixture
async def api(app_client: httpx.AsyncClient, admin_headers: dict[str, str]) -> AsyncIterator[Api]:
    return Api(app_client, admin_headers)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from running_receiver()


@pytest.fixture
def backend(api: Api) -> FakeBackend:
    fake = FakeBackend()
    api.ctx.query_backend = fake  # type: ignore[attr-defined]
    return fake
