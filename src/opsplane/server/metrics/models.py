"""Metrics tables: the series registry, compressed sample chunks, and 5-minute rollups.

Chunks hold one series' samples inside one aligned block (`block` = its start in ms):
level 0 are written by each flush, level 1 are a whole block merged by the compactor.
Rollups hold one series' 5-minute min/max/sum/count buckets for one UTC day.
"""

from __future__ import annotations

from sqlalchemy import Index, LargeBinary, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from opsplane.server.db import Base


class MetricSeries(Base):
    __tablename__ = "metric_series"

    # Assigned by the TSDB (dense ids index its in-memory arrays), not by the database.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    labels: Mapped[dict[str, str]]
    first_ts: Mapped[int]
    # Refreshed by compaction; newer samples are in level-0 chunks or the WAL.
    last_ts: Mapped[int]


class MetricChunk(Base):
    __tablename__ = "metric_chunks"
    __table_args__ = (
        Index("ix_metric_chunks_series_time", "series_id", "max_ts"),
        Index("ix_metric_chunks_block_level", "block", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int]
    block: Mapped[int]
    level: Mapped[int] = mapped_column(SmallInteger)
    min_ts: Mapped[int]
    max_ts: Mapped[int]
    count: Mapped[int]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MetricRollup(Base):
    __tablename__ = "metric_rollups"
    __table_args__ = (Index("ix_metric_rollups_day", "day"),)

    series_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    day: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)
