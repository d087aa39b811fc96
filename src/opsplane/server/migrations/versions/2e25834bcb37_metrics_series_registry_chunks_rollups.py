"""metrics: series registry, chunks, rollups

Revision ID: 2e25834bcb37
Revises:
Create Date: 2026-11-22 11:55:50.532202
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2e25834bcb37"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("metrics",)
depends_on: str | Sequence[str] | None = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_chunks",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("series_id", BIGINT, nullable=False),
        sa.Column("block", BIGINT, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("min_ts", BIGINT, nullable=False),
        sa.Column("max_ts", BIGINT, nullable=False),
        sa.Column("count", BIGINT, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_chunks")),
    )
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.create_index("ix_metric_chunks_block_level", ["block", "level"], unique=False)
        batch_op.create_index("ix_metric_chunks_series_time", ["series_id", "max_ts"], unique=False)

    op.create_table(
        "metric_rollups",
        sa.Column("series_id", BIGINT, autoincrement=False, nullable=False),
        sa.Column("day", BIGINT, autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "day", name=op.f("pk_metric_rollups")),
    )
    with op.batch_alter_table("metric_rollups", schema=None) as batch_op:
        batch_op.create_index("ix_metric_rollups_day", ["day"], unique=False)

    op.create_table(
        "metric_series",
        sa.Column("id", BIGINT, autoincrement=False, nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("first_ts", BIGINT, nullable=False),
        sa.Column("last_ts", BIGINT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
    )


def downgrade() -> None:
    op.drop_table("metric_series")
    with op.batch_alter_table("metric_rollups", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_rollups_day")
    op.drop_table("metric_rollups")
    with op.batch_alter_table("metric_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_metric_chunks_series_time")
        batch_op.drop_index("ix_metric_chunks_block_level")
    op.drop_table("metric_chunks")
