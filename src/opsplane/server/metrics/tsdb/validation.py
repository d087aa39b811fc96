"""What Prometheus refuses to store: invalid metric and label names."""

from __future__ import annotations

import re

from opsplane.server.metrics.remote_write import WriteRequest
from opsplane.server.metrics.tsdb.registry import SeriesRegistry

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def invalid_series(request: WriteRequest, known: SeriesRegistry) -> str | None:
    """Why the request cannot be stored, or None. Series already stored are valid."""
    for series in request.timeseries:
        if len(series.timestamps) != len(series.values):
            return "a series has a different number of timestamps and values"
        if known.lookup(series.labels) is not None:
            continue
        name = series.labels.get("__name__", "")
        if not _METRIC_NAME.fullmatch(name):
            return f"invalid metric name {name!r} in series {series.labels}"
        for label in series.labels:
            if not _LABEL_NAME.fullmatch(label):
                return f"invalid label name {label!r} in series {series.labels}"
    return None
