"""One server process per cluster evaluates: the PostgreSQL advisory-lock leader."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from opsplane.server.alerts.leadership import Leadership
from opsplane.server.db import Database
from opsplane.server.settings import Settings


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_one_leader_and_take_over(database_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=database_url)
    first_db, second_db = Database(settings), Database(settings)
    first, second = Leadership(first_db, retry_every=0.1), Leadership(second_db, retry_every=0.1)
    elected = asyncio.Event()

    async def on_elected() -> None:
        elected.set()

    second.on_elected = on_elected
    try:
        assert await first.elect() is True
        assert await second.elect() is False
        task = asyncio.create_task(second.run())
        await asyncio.sleep(0.3)
        assert not second.is_leader
        await first.release()
        await asyncio.wait_for(elected.wait(), timeout=5)
        assert second.is_leader
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await first.elect() is True  # the cancelled leader let go
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_always_leads(database_url: str, tmp_path: Path) -> None:
    db = Database(Settings(data_dir=tmp_path, database_url=database_url))
    try:
        assert Leadership(db).is_leader
        assert await Leadership(db).elect()
    finally:
        await db.dispose()
