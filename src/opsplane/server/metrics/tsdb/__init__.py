"""The embedded time-series store: series registry, in-memory head, WAL, chunks, rollups."""

from opsplane.server.metrics.tsdb.config import TSDBConfig
from opsplane.server.metrics.tsdb.tsdb import TSDB

__all__ = ["TSDB", "TSDBConfig"]
