"""API models: channels, routing tree, silences, inhibition rules, the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsplane.server.alerts.channels.types import ChannelType
from opsplane.server.alerts.routing import MatcherModel, RouteNode


class ChannelCreate(BaseModel):
    """`{"name", "type", ...settings}`: settings go in `config` or at the top level."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=128)
    type: ChannelType
    config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    is_default: bool = Field(default=True, description="Receives alerts no route claims.")
    send_resolved: bool = True

    def settings(self) -> dict[str, Any]:
        return {**self.config, **(self.model_extra or {})}


class ChannelUpdate(BaseModel):
    """A patch: settings left out (secret or not) keep their stored values; a setting set to
    null (`{"headers": null}`, at the top level or in `config`) is cleared."""

    model_config = ConfigDict(extra="allow")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    config: dict[str, Any] | None = None
    enabled: bool | None = None
    is_default: bool | None = None
    send_resolved: bool | None = None

    def settings(self) -> dict[str, Any] | None:
        extra = self.model_extra or {}
        if self.config is None and not extra:
            return None
        return {**(self.config or {}), **extra}


class ChannelRead(BaseModel):
    id: int
    name: str
    type: str
    config: dict[str, Any]
    secrets_set: list[str] = Field(description="Secret settings that have a value (never shown).")
    enabled: bool
    is_default: bool
    send_resolved: bool
    created_at: datetime
    updated_at: datetime


class TestResult(BaseModel):
    ok: bool
    http_status: int | None
    error: str
    latency_ms: float


class SilenceCreate(BaseModel):
    matchers: list[MatcherModel] = Field(min_length=1, max_length=64)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: dict[str, Any] | None = Field(
        default=None,
        description='{"weekdays":[5,6],"start":"02:00","duration_minutes":120,'
        '"timezone":"UTC"} (Monday = 0)',
    )
    comment: str = Field(default="", max_length=512)


class SilenceUpdate(BaseModel):
    matchers: list[MatcherModel] | None = Field(default=None, min_length=1, max_length=64)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    recurrence: dict[str, Any] | None = None
    comment: str | None = Field(default=None, max_length=512)


class SilenceRead(BaseModel):
    id: int
    matchers: list[MatcherModel]
    starts_at: datetime
    ends_at: datetime | None
    recurrence: dict[str, Any] | None
    comment: str
    created_by: str
    created_at: datetime
    expired_at: datetime | None
    state: str


class InhibitRuleCreate(BaseModel):
    name: str = Field(default="", max_length=128)
    source_matchers: list[MatcherModel] = Field(min_length=1, max_length=64)
    target_matchers: list[MatcherModel] = Field(min_length=1, max_length=64)
    equal: list[str] = Field(default_factory=list, max_length=64)
    enabled: bool = True


class InhibitRuleUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=128)
    source_matchers: list[MatcherModel] | None = None
    target_matchers: list[MatcherModel] | None = None
    equal: list[str] | None = None
    enabled: bool | None = None


class InhibitRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    source_matchers: list[MatcherModel]
    target_matchers: list[MatcherModel]
    equal: list[str]
    enabled: bool
    created_at: datetime


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    channel_id: int | None
    channel_name: str
    notification_id: str
    kind: str
    group_key: str
    incident_ids: list[int]
    status: str
    attempt: int
    http_status: int | None
    latency_ms: float
    error: str
    alert_count: int


class RoutePreviewRequest(BaseModel):
    labels: dict[str, str] = Field(description="The alert's labels (alertname included).")
    tree: RouteNode | None = Field(
        default=None, description="A routing tree to try instead of the saved one (unsaved edits)."
    )


class ReceiverRef(BaseModel):
    id: int
    name: str
    type: str


class SkippedReceiver(BaseModel):
    id: int
    name: str = Field(description="Empty when no channel has this id.")
    reason: Literal["disabled", "unknown"]


class RouteMatch(BaseModel):
    """One route the alert ends at, with everything it inherits filled in."""

    path: str = Field(description='"root", "root.0", "root.0.1": child indexes from the root.')
    receivers: list[ReceiverRef] = Field(description="The channels that would be notified.")
    default_receivers: bool = Field(
        description="The route names no receivers: every enabled default channel gets it."
    )
    skipped: list[SkippedReceiver] = Field(description="Named by the route but not notified.")
    group_by: list[str] | None = Field(description="null: every label.")
    group_key: str
    group_wait: float
    group_interval: float
    repeat_interval: float
    escalate_after: float | None
    escalate_to: list[ReceiverRef]


class RoutePreview(BaseModel):
    """Where an alert with these labels goes, by the server's own routing (nothing is sent)."""

    labels: dict[str, str]
    routes: list[RouteMatch]
    silenced_by: list[int] = Field(description="Silences that would mute it now.")
    inhibited: bool = Field(description="Whether an inhibition rule mutes it now.")
