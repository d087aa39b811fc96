"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL.

A model change without its migration would pass every test that starts from the models and
then break a real upgrade; autogenerate against the migrated database must find nothing.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from opsplane.server.db import Database
from opsplane.server.models import metadata
from opsplane.server.settings import Settings


def _differences(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(
        conn, opts={"compare_type": True, "compare_server_default": False}
    )
    return list(compare_metadata(context, metadata))


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    db = Database(settings)
    try:
        await db.migrate()
        async with db.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
    finally:
        await db.dispose()
    assert differences == []
