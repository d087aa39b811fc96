"""Alerting tables: rules, alerts and their history, incidents, silences, inhibition,
notification channels, the routing tree and the delivery log.

No foreign keys point at other domains' tables: who did something is recorded by name
(like the audit log), so deleting a user never rewrites alert history.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsplane.server.db import Base, utcnow


class AlertState(enum.StrEnum):
    pending = "pending"
    firing = "firing"
    resolved = "resolved"
    # A pending alert whose condition cleared before `for` elapsed: kept for history only.
    cancelled = "cancelled"


class IncidentState(enum.StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class RuleGroup(Base):
    __tablename__ = "alert_rule_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    interval_s: Mapped[float] = mapped_column(default=15.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Rule(Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rule_groups.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(128), index=True)
    expr: Mapped[str] = mapped_column(Text)
    for_s: Mapped[float] = mapped_column(default=0.0)
    keep_firing_for_s: Mapped[float] = mapped_column(default=0.0)
    severity: Mapped[str] = mapped_column(String(32), default="warning")
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    # The threshold-builder spec this rule was compiled from (None: written by hand).
    builder: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class RecordingRule(Base):
    """A Prometheus recording rule: `expr` evaluated on its group's interval, stored as `record`.

    A group evaluates its recording rules (by position) before its alerting rules, so alerts
    in the same group read what was just recorded.
    """

    __tablename__ = "recording_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("alert_rule_groups.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    record: Mapped[str] = mapped_column(String(255), index=True)
    expr: Mapped[str] = mapped_column(Text)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")


class Alert(Base):
    """One activation of an alert: from pending (or an external firing) to its end."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_fingerprint_state", "fingerprint", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # "rule" (our evaluator) or "alertmanager" (received from an external Alertmanager).
    source: Mapped[str] = mapped_column(String(16), default="rule", index=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), default=None, index=True
    )
    name: Mapped[str] = mapped_column(String(128), index=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    severity: Mapped[str] = mapped_column(String(32), default="")
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(default=dict)
    value: Mapped[float | None] = mapped_column(default=None)
    active_at: Mapped[datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    generator_url: Mapped[str] = mapped_column(String(1024), default="")
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), default=None, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertEvent(Base):
    """Every state change of every alert: the alert history."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[int | None] = mapped_column(default=None, index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    from_state: Mapped[str | None] = mapped_column(String(16), default=None)
    to_state: Mapped[str] = mapped_column(String(16))
    value: Mapped[float | None] = mapped_column(default=None)
    message: Mapped[str] = mapped_column(String(512), default="")


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(512), index=True)
    group_labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    title: Mapped[str] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(32), default="")
    state: Mapped[str] = mapped_column(String(16), default=IncidentState.open.value, index=True)
    source: Mapped[str] = mapped_column(String(16), default="rule")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(128), default=None)
    # Escalation: set when a route with an escalation policy first notified about it.
    escalate_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    escalation_channel_ids: Mapped[list[Any]] = mapped_column(default=list)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class IncidentEvent(Base):
    __tablename__ = "incident_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    message: Mapped[str] = mapped_column(String(512), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Silence(Base):
    __tablename__ = "alert_silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    matchers: Mapped[list[Any]] = mapped_column(default=list)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    # Recurring maintenance window ({weekdays, start, duration_minutes, timezone}) or None.
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    comment: Mapped[str] = mapped_column(String(512), default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expired_at: Mapped[datetime | None] = mapped_column(default=None)


class InhibitRule(Base):
    __tablename__ = "alert_inhibit_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    source_matchers: Mapped[list[Any]] = mapped_column(default=list)
    target_matchers: Mapped[list[Any]] = mapped_column(default=list)
    equal: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Channel(Base):
    __tablename__ = "notification_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Fernet token of the JSON of the secret fields (SMTP password, webhook URLs with keys...).
    secrets: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    # Receives what no more specific route claims (the root route's default receivers).
    is_default: Mapped[bool] = mapped_column(default=True)
    send_resolved: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RoutingTree(Base):
    """The whole routing tree as one JSON document (edited and versioned as a unit)."""

    __tablename__ = "notification_routing"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")


class Delivery(Base):
    """One attempt to deliver one notification to one channel."""

    __tablename__ = "notification_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="SET NULL"), default=None, index=True
    )
    channel_name: Mapped[str] = mapped_column(String(128), default="")
    notification_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="alert")
    group_key: Mapped[str] = mapped_column(String(512), default="")
    incident_ids: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(default=1)
    http_status: Mapped[int | None] = mapped_column(default=None)
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str] = mapped_column(String(1024), default="")
    alert_count: Mapped[int] = mapped_column(default=0)


class NotificationLog(Base):
    """What each receiver of each aggregation group was last told (Alertmanager's nflog).

    Written after a successful delivery, read at start: a restart neither repeats
    notifications nor loses one that never left.
    """

    __tablename__ = "notification_log"
    __table_args__ = (UniqueConstraint("group_key", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(String(512))
    channel_id: Mapped[int] = mapped_column(index=True)
    firing: Mapped[list[Any]] = mapped_column(default=list)
    resolved: Mapped[list[Any]] = mapped_column(default=list)
    at: Mapped[datetime] = mapped_column(default=utcnow)
