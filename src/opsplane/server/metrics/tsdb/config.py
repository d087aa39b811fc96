"""The TSDB's knobs, read once from Settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opsplane.server.metrics.tsdb.head import DEFAULT_BUFFER
from opsplane.server.metrics.tsdb.wal import FsyncPolicy
from opsplane.server.settings import Settings

_DAY_MS = 86_400_000


@dataclass(frozen=True)
class TSDBConfig:
    directory: Path | None
    """Where the WAL lives; None = memory only (no durability, e.g. the remote backend's view)."""
    database_url: str | None
    """Where chunks go; None = nothing is persisted (head only, trimmed to the window)."""
    head_window_ms: int = 3_600_000
    flush_seconds: float = 600.0
    block_ms: int = 2 * 3_600_000
    raw_retention_ms: int = 15 * _DAY_MS
    rollup_retention_ms: int = 400 * _DAY_MS
    compaction_seconds: float = 300.0
    wal_fsync: FsyncPolicy = "always"
    wal_fsync_interval: float = 1.0
    buffer_size: int = DEFAULT_BUFFER
    max_pending_samples: int = 5_000_000
    """Flush early when this many samples wait in the head (bounds memory and WAL size)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> TSDBConfig:
        return cls(
            directory=settings.data_dir / "tsdb",
            database_url=settings.resolved_database_url,
            head_window_ms=settings.metrics_window_seconds * 1000,
            flush_seconds=settings.metrics_flush_seconds,
            block_ms=settings.metrics_block_hours * 3_600_000,
            raw_retention_ms=int(settings.metrics_retention_raw_days * _DAY_MS),
            rollup_retention_ms=int(settings.metrics_retention_rollup_days * _DAY_MS),
            compaction_seconds=settings.metrics_compaction_seconds,
            wal_fsync=settings.metrics_wal_fsync,
            wal_fsync_interval=settings.metrics_wal_fsync_interval,
        )

    @classmethod
    def memory(cls, *, head_window_ms: int) -> TSDBConfig:
        return cls(
            directory=None, database_url=None, head_window_ms=head_window_ms, flush_seconds=60.0
        )
