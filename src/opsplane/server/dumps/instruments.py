"""The pipeline's series on `/metrics`: counters kept by this process, gauges refreshed from
the database every `dumps_metrics_interval` seconds (so every server process reports all)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from opsplane.server.dumps.states import Step
from opsplane.server.dumps.stats import DumpStats


class DumpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.files = Gauge(
            "opsplane_dump_files", "Heap-dump files by status.", ["status"], registry=r
        )
        self.files_by_node = Gauge(
            "opsplane_dump_files_by_node", "Heap-dump files per node.", ["node"], registry=r
        )
        self.per_app_day = Gauge(
            "opsplane_dump_files_per_app_day",
            "Dumps noticed per app and UTC day over the last 7 days (OOM frequency).",
            ["app", "day"],
            registry=r,
        )
        self.success_ratio = Gauge(
            "opsplane_dump_processing_success_ratio",
            "Share of finished step attempts that succeeded.",
            ["step"],
            registry=r,
        )
        self.mean_processing = Gauge(
            "opsplane_dump_created_to_analyzed_seconds_mean",
            "Mean time from a file's record to its analysed report (last 30 days).",
            registry=r,
        )
        self.retry_success = Gauge(
            "opsplane_dump_retry_success_ratio",
            "Share of finished retry sequences that succeeded.",
            ["type"],
            registry=r,
        )
        self.errors = Gauge(
            "opsplane_dump_errors",
            "Failed step attempts by error type.",
            ["error_type"],
            registry=r,
        )
        self.attempts = Counter(
            "opsplane_dump_step_attempts",
            "Step attempts finished by this process.",
            ["step", "result"],
            registry=r,
        )
        self.retries_exhausted = Counter(
            "opsplane_dump_retries_exhausted",
            "Retry sequences that gave up (each raised an alert).",
            ["step"],
            registry=r,
        )
        self.upload_bytes = Counter(
            "opsplane_dump_upload_bytes", "Upload bytes stored by this process.", registry=r
        )

    def step(self, step: Step, *, ok: bool, error_type: str | None = None) -> None:
        self.attempts.labels(step.value, "success" if ok else "failed").inc()

    def update(self, stats: DumpStats) -> None:
        for status, n in stats.by_status.items():
            self.files.labels(status).set(n)
        _replace(self.files_by_node, {(k,): v for k, v in stats.by_node.items()})
        _replace(self.per_app_day, dict(stats.per_app_day.items()))
        _replace(self.success_ratio, {(k,): v for k, v in stats.success_rate.items()})
        _replace(self.retry_success, {(k,): v for k, v in stats.retry_success_rate.items()})
        _replace(self.errors, {(k,): v for k, v in stats.error_types.items()})
        self.mean_processing.set(stats.mean_processing_seconds or 0.0)


def _replace(gauge: Gauge, values: dict[tuple[str, ...], float]) -> None:
    """Set exactly these label sets (old ones, e.g. a day that left the window, disappear)."""
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
