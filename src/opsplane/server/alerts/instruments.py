"""The alerting domain's own metrics on the server's `/metrics` (see deploy/grafana)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.evaluations = Counter(
            "opsplane_alert_rule_evaluations", "Rule evaluations.", ["path"], registry=r
        )
        self.evaluation_failures = Counter(
            "opsplane_alert_rule_evaluation_failures", "Rule evaluations that failed.", registry=r
        )
        self.evaluation_seconds = Histogram(
            "opsplane_alert_group_evaluation_duration_seconds",
            "Time to evaluate one rule group.",
            buckets=_BUCKETS,
            registry=r,
        )
        self.fast_path_seconds = Histogram(
            "opsplane_alert_fast_path_duration_seconds",
            "From a metric batch reaching the alert fast path to its alerts being handed to "
            "notification.",
            buckets=_BUCKETS,
            registry=r,
        )
        self.transitions = Counter(
            "opsplane_alert_transitions", "Alert state changes.", ["to"], registry=r
        )
        self.alerts = Gauge("opsplane_alerts", "Active alerts by state.", ["state"], registry=r)
        self.notifications = Counter(
            "opsplane_alert_notifications",
            "Notification delivery attempts by outcome.",
            ["channel_type", "status"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "opsplane_alert_delivery_duration_seconds",
            "Time of one delivery attempt.",
            ["channel_type"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.received = Counter(
            "opsplane_alertmanager_alerts_received",
            "Alerts received from Alertmanager webhooks.",
            ["status"],
            registry=r,
        )
        self.queue_dropped = Counter(
            "opsplane_alert_fast_path_dropped",
            "Metric batches the fast path dropped (queue full).",
            registry=r,
        )
