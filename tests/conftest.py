"""Fixtures shared by every test: real databases, in-process apps, real server processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from opsplane.server.app import create_app
from opsplane.server.settings import Settings
from tests.support.postgres import fresh_database
from tests.support.processes import ADMIN_PASSWORD, ServerProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each database test runs once on SQLite and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'opsplane.db'}"
    else:
        with fresh_database() as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        heartbeat_interval=1.0,
        log_json=False,
    )


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The whole app in-process (lifespan included), unauthenticated."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def bearer(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()  # the UI cookie would authenticate later "anonymous" calls
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
async def admin_headers(app_client: httpx.AsyncClient) -> dict[str, str]:
    return await bearer(app_client, "admin", ADMIN_PASSWORD)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real `opsplane server` on SQLite with 1 s heartbeats."""
    server = ServerProcess(
        tmp_path / "server",
        env={"OPSPLANE_HEARTBEAT_INTERVAL": "1", "OPSPLANE_METRICS_INTERVAL": "1"},
    )
    server.start()
    yield server
    server.close()
