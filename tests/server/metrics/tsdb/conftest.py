"""A TSDB on a migrated database (SQLite and PostgreSQL), opened and closed per test."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from opsplane.server.db import Database
from opsplane.server.metrics.remote_write import TimeSeries
from opsplane.server.metrics.tsdb import TSDB, TSDBConfig
from opsplane.server.settings import Settings

OpenTSDB = Callable[..., Awaitable[TSDB]]


@pytest.fixture
async def open_tsdb(settings: Settings) -> AsyncIterator[OpenTSDB]:
    database = Database(settings)
    await database.migrate()
    await database.dispose()
    opened: list[TSDB] = []

    async def make(**overrides: Any) -> TSDB:
        config = dataclasses.replace(TSDBConfig.from_settings(settings), **overrides)
        tsdb = TSDB(config)
        await tsdb.open()
        opened.append(tsdb)
        return tsdb

    yield make
    for tsdb in opened:
        if tsdb.wal is not None and tsdb.wal._fd >= 0:
            await tsdb.close()
        elif tsdb.store is not None:
            tsdb.store.dispose()  # a simulated crash left its WAL open-less


def series(labels: dict[str, str], samples: list[tuple[int, float]]) -> TimeSeries:
    return TimeSeries.of(labels, samples)


def points(found: Any) -> list[tuple[int, float]]:
    return list(
        zip(np.asarray(found.timestamps).tolist(), np.asarray(found.values).tolist(), strict=True)
    )
