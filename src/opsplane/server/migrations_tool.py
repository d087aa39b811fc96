"""Developer tool behind `opsplane db revision`: autogenerate a migration against SQLite.

Each domain keeps its own migration branch (branch label = domain name), so work on two
domains never produces competing heads of one chain.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from opsplane.server.db import alembic_config


def new_revision(
    message: str, *, branch: str | None, new_branch: bool, depends_on: str | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'rev.db'}")
        with engine.begin() as conn:
            cfg = alembic_config(conn)
            command.upgrade(cfg, "heads")
            command.revision(
                cfg,
                message=message,
                autogenerate=True,
                head="base" if new_branch else f"{branch}@head" if branch else "head",
                branch_label=branch if new_branch else None,
                depends_on=depends_on,
            )
        engine.dispose()
