"""Fleet API models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsplane.server.fleet.models import NodeStatus

Labels = dict[str, str]
LABEL_KEY = r"^[a-zA-Z_][a-zA-Z0-9_]{0,62}$"


class EnrollmentTokenCreate(BaseModel):
    name: str = Field(default="", max_length=128)
    expires_in_hours: float | None = Field(
        default=24, gt=0, le=24 * 365, description="None: never expires."
    )
    max_uses: int | None = Field(default=None, ge=1, description="None: unlimited.")
    labels: Labels = Field(default_factory=dict, description="Given to every node enrolled.")


class EnrollmentTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    labels: Labels
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    state: Literal["active", "expired", "exhausted", "revoked"]


class EnrollmentTokenCreated(EnrollmentTokenRead):
    token: str = Field(description="The secret: shown once.")
    agent_command: str = Field(description="Ready-to-run command enrolling an agent.")


class RegisterRequest(BaseModel):
    token: str = Field(min_length=1, max_length=256)
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:@-]+$")
    inventory: dict[str, Any] = Field(default_factory=dict)


class RegisterResponse(BaseModel):
    node_id: str
    node_name: str
    credential: str


class NodeRead(BaseModel):
    id: str
    name: str
    status: NodeStatus
    labels: Labels
    agent_version: str
    hostname: str
    os: str
    ip_addresses: list[str]
    problems: list[str]
    last_seen_at: datetime | None
    connected_at: datetime | None
    status_changed_at: datetime
    created_at: datetime


class AgentConfigRead(BaseModel):
    heartbeat_interval: float
    metrics_interval: float
    labels: Labels
    scrape_targets: list[str]
    # Seconds between the agent's threshold checks (0: off), and how many rules it checks.
    threshold_check_interval: float
    threshold_rules: int


class NodeDetail(NodeRead):
    inventory: dict[str, Any]
    protocol_version: int
    config: AgentConfigRead
    config_overrides: dict[str, Any]
    connected: bool


class NodeUpdate(BaseModel):
    labels: Labels | None = None


class NodeConfigUpdate(BaseModel):
    """Per-node overrides; a null field falls back to the server default."""

    heartbeat_interval: float | None = Field(default=None, ge=0.5, le=3600)
    metrics_interval: float | None = Field(default=None, ge=0.5, le=3600)
    scrape_targets: list[str] | None = Field(default=None, max_length=64)
    # 0 turns threshold checks off on this node (say, an exporter too costly to re-scrape).
    threshold_check_interval: float | None = Field(default=None, ge=0, le=3600)


class NodeEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    node_id: str
    node_name: str
    at: datetime
    kind: str
    severity: str
    message: str
    data: dict[str, Any]


class FleetSummary(BaseModel):
    total: int
    online: int
    degraded: int
    offline: int
    revoked: int
    agent_versions: dict[str, int]


class PingRequest(BaseModel):
    node_ids: list[str] | None = Field(default=None, description="Default: every connected node.")
    timeout: float = Field(default=5.0, gt=0, le=60)


class PingResult(BaseModel):
    node_id: str
    ok: bool
    rtt_ms: float | None = None
    error: str | None = None


class CommandResultRead(BaseModel):
    ok: bool
    data: Any = None
    error: str | None = None


class MetricSeries(BaseModel):
    name: str
    labels: Labels
    points: list[tuple[int, float]] = Field(description="[timestamp ms, value] pairs.")


class MetricWindow(BaseModel):
    node_id: str
    series: list[MetricSeries]


class FleetSnapshot(BaseModel):
    """What the `fleet` stream topic sends (also `GET /fleet/snapshot`)."""

    summary: FleetSummary
    events: list[NodeEventRead]
    connected: int


class NodeSnapshot(BaseModel):
    """What the `node:<id>` stream topic sends (also `GET /nodes/{id}/snapshot`).

    `recent` holds the live chart series' samples of the last `RECENT_SECONDS`; clients merge
    them by timestamp, so no sample is missed between two snapshots.
    """

    node: NodeRead
    connected: bool
    at: int
    recent: list[MetricSeries]
