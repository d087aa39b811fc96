"""API models: rule groups, rules (and the threshold builder), alerts, incidents, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from opsplane.server.alerts.durations import DurationError, parse_duration
from opsplane.server.alerts.models import AlertState, IncidentState

Labels = dict[str, str]
Duration = str | float
RuleHealthState = Literal["ok", "err", "unknown"]
RULE_NAME = r"^[a-zA-Z_][a-zA-Z0-9_:]*$"
GROUP_NAME = r"^[A-Za-z0-9_.:\-/ ]{1,128}$"


def _duration(value: Any) -> float:
    if value is None:
        return 0.0
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _interval(value: Any) -> float:
    seconds = _duration(value)
    if not 0.1 <= seconds <= 86400:
        raise ValueError("interval must be between 100ms and 1d")
    return seconds


class RuleGroupCreate(BaseModel):
    name: str = Field(pattern=GROUP_NAME)
    interval: Duration = Field(default="15s", description="Prometheus duration or seconds.")

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, v: Any) -> float:
        return _interval(v)


class RuleGroupUpdate(BaseModel):
    interval: Duration

    @field_validator("interval")
    @classmethod
    def _check_interval(cls, v: Any) -> float:
        return _interval(v)


class RuleGroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    interval_s: float
    rule_count: int = 0
    created_at: datetime
    updated_at: datetime


class RuleCreate(BaseModel):
    """An alerting rule in Prometheus's terms (`name` is the `alert:` field)."""

    name: str = Field(pattern=RULE_NAME, max_length=128)
    expr: str = Field(min_length=1, max_length=8192)
    for_: Duration = Field(default=0.0, alias="for", description="e.g. 5m; 0: fire at once")
    keep_firing_for: Duration = Field(default=0.0, description="Flap damping, e.g. 2m.")
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    severity: str = Field(default="warning", min_length=1, max_length=32)
    group: str = Field(default="default", pattern=GROUP_NAME)
    enabled: bool = True

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("for_", "keep_firing_for")
    @classmethod
    def _durations(cls, v: Any) -> float:
        return _duration(v)


class RuleUpdate(BaseModel):
    name: str | None = Field(default=None, pattern=RULE_NAME, max_length=128)
    expr: str | None = Field(default=None, min_length=1, max_length=8192)
    for_: Duration | None = Field(default=None, alias="for")
    keep_firing_for: Duration | None = None
    labels: Labels | None = None
    annotations: Labels | None = None
    severity: str | None = Field(default=None, min_length=1, max_length=32)
    group: str | None = Field(default=None, pattern=GROUP_NAME)
    enabled: bool | None = None

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("for_", "keep_firing_for")
    @classmethod
    def _durations(cls, v: Any) -> float | None:
        return None if v is None else _duration(v)


class RecordingCreate(BaseModel):
    """A recording rule in Prometheus's terms: `expr` stored as the series `record`."""

    record: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=255)
    expr: str = Field(min_length=1, max_length=8192)
    labels: Labels = Field(default_factory=dict)
    group: str = Field(default="default", pattern=GROUP_NAME)
    enabled: bool = True


class RecordingUpdate(BaseModel):
    record: str | None = Field(default=None, pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", max_length=255)
    expr: str | None = Field(default=None, min_length=1, max_length=8192)
    labels: Labels | None = None
    enabled: bool | None = None


class RecordingRead(BaseModel):
    id: int
    group: str
    group_id: int
    record: str
    expr: str
    labels: Labels
    enabled: bool
    health: RuleHealthState = Field(default="unknown", description="Of the last evaluation.")
    last_error: str = ""
    last_evaluation: datetime | None = None
    evaluation_duration_ms: float | None = None
    series: int = Field(default=0, description="Series the last evaluation recorded.")
    created_at: datetime
    updated_at: datetime
    created_by: str


class ThresholdRule(BaseModel):
    """The rule builder: a threshold on one metric, scoped by labels and/or nodes."""

    name: str = Field(pattern=RULE_NAME, max_length=128)
    metric: str = Field(min_length=1, max_length=256)
    labels: Labels = Field(default_factory=dict, description="Scope: series label equality.")
    nodes: list[str] = Field(
        default_factory=list, max_length=1000, description="Scope: node names (the `node` label)."
    )
    operator: Literal[">", ">=", "<", "<=", "==", "!="]
    threshold: float
    clear_threshold: float | None = Field(
        default=None, description="Hysteresis: once firing, resolve only past this value."
    )
    for_: Duration = Field(default=0.0, alias="for")
    keep_firing_for: Duration = 0.0
    severity: str = Field(default="warning", min_length=1, max_length=32)
    summary: str = Field(
        default="",
        max_length=1024,
        description="Default: '<metric> is {{ $value }} on {{ $labels.node }}'",
    )
    alert_labels: Labels = Field(default_factory=dict, description="Extra labels on the alert.")
    group: str = Field(default="default", pattern=GROUP_NAME)
    enabled: bool = True

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("for_", "keep_firing_for")
    @classmethod
    def _durations(cls, v: Any) -> float:
        return _duration(v)


class RulePreviewRequest(BaseModel):
    name: str = Field(default="Preview", pattern=RULE_NAME, max_length=128)
    expr: str = Field(min_length=1, max_length=8192)
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    severity: str = Field(default="warning", min_length=1, max_length=32)


class PreviewAlert(BaseModel):
    labels: Labels
    annotations: Labels
    value: float


class RulePreview(BaseModel):
    """What the rule would produce if evaluated now (before `for` is applied)."""

    alerts: list[PreviewAlert]
    fast_path: bool


class ThresholdPreview(BaseModel):
    expr: str
    eval_expr: str
    fast_path: bool


class RuleRead(BaseModel):
    id: int
    group: str
    group_id: int
    name: str
    expr: str
    for_: float = Field(serialization_alias="for")
    keep_firing_for: float
    severity: str
    labels: Labels
    annotations: Labels
    enabled: bool
    builder: dict[str, Any] | None
    fast_path: bool
    firing: int = 0
    pending: int = 0
    health: RuleHealthState = Field(
        default="unknown", description="Of the last scheduled evaluation (Prometheus's `health`)."
    )
    last_error: str = Field(default="", description="Why the last evaluation failed.")
    last_evaluation: datetime | None = None
    evaluation_duration_ms: float | None = None
    created_at: datetime
    updated_at: datetime
    created_by: str


class ImportResult(BaseModel):
    groups: list[str]
    created: int = Field(description="Alerting rules created.")
    recording: int = Field(default=0, description="Recording rules created.")
    replaced: int = Field(description="Rules (of both kinds) the import replaced.")
    skipped: list[str] = Field(description="Anything not imported, and why.")


class AlertRead(BaseModel):
    id: int
    source: str
    rule_id: int | None
    name: str
    fingerprint: str
    state: AlertState
    severity: str
    labels: Labels
    annotations: Labels
    value: float | None
    active_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    incident_id: int | None
    generator_url: str
    silenced_by: list[int] = Field(default_factory=list)
    inhibited: bool = False


class AlertEventRead(BaseModel):
    """One state change, with its alert's name, labels, severity and incident."""

    id: int
    alert_id: int
    rule_id: int | None
    name: str
    labels: Labels
    severity: str
    incident_id: int | None
    at: datetime
    from_state: str | None
    to_state: str
    value: float | None
    message: str


class SilenceFromAlert(BaseModel):
    duration: Duration = Field(default="2h")
    comment: str = Field(default="", max_length=512)
    label_names: list[str] | None = Field(
        default=None, description="Labels to match on; default: all of the alert's labels."
    )

    @field_validator("duration")
    @classmethod
    def _d(cls, v: Any) -> float:
        seconds = _duration(v)
        if seconds <= 0:
            raise ValueError("duration must be positive")
        return seconds


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    group_key: str
    group_labels: Labels
    title: str
    severity: str
    state: IncidentState
    source: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    escalate_at: datetime | None
    escalated_at: datetime | None
    alert_count: int = 0
    firing_count: int = 0


class IncidentDetail(IncidentRead):
    alerts: list[AlertRead] = Field(default_factory=list)


class IncidentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    at: datetime
    kind: str
    actor: str
    message: str
    data: dict[str, Any]


class IncidentAction(BaseModel):
    comment: str = Field(default="", max_length=512)


class AlertCounts(BaseModel):
    pending: int = 0
    firing: int = 0


class IncidentCounts(BaseModel):
    open: int = 0
    acknowledged: int = 0


class RuleCounts(BaseModel):
    total: int = 0
    enabled: int = 0
    failing: int = Field(default=0, description="Enabled rules whose last evaluation failed.")


class FailingRule(BaseModel):
    id: int
    name: str
    group_id: int
    last_error: str
    last_evaluation: datetime | None


class AlertsSummary(BaseModel):
    """Live counts for badges and headers, the failing rules and the newest firing alerts.

    Alert and incident counts come from the database (every source, every server process);
    rule health from the evaluating process.
    """

    counts: AlertCounts
    firing_by_severity: dict[str, int]
    rule_firing_by_severity: dict[str, int] = Field(
        description="Firing alerts of opsplane's own rules by severity (this process's view)."
    )
    open_incidents: int = Field(description="Open and acknowledged incidents.")
    incidents: IncidentCounts
    rules: RuleCounts
    failing_rules: list[FailingRule] = Field(description="Up to 20, by rule id.")
    recent_firing: list[AlertRead] = Field(description="The 20 newest firing alerts.")
