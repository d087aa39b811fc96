"""Link session frames: hello / welcome / refuse / heartbeat / config."""

from __future__ import annotations

import msgspec

from opsplane.protocol.files import WatchRule
from opsplane.protocol.inventory import Inventory
from opsplane.protocol.thresholds import ThresholdWatch

CLOSE_SERVICE_RESTART = 1012
"""WebSocket close code a server sends its agents when it shuts down (RFC 6455 "Service
Restart"): agents redial with a short capped backoff, so the fleet is back soon after it."""


class AgentConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Server-side agent configuration, pushed in `welcome` and live via the `config` command."""

    heartbeat_interval: float = 5.0
    metrics_interval: float = 10.0
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    scrape_targets: tuple[str, ...] = ()
    watch_rules: tuple[WatchRule, ...] = ()
    upload_bytes_per_second: int | None = None  # None: unlimited
    upload_concurrency: int = 1
    # Threshold watches (see protocol/thresholds.py): checked every this many seconds; 0: off.
    threshold_check_interval: float = 0.0
    threshold_watches: tuple[ThresholdWatch, ...] = ()


class Hello(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    protocol_version: int
    agent_version: str
    inventory: Inventory


class Welcome(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    node_id: str
    node_name: str
    server_version: str
    config: AgentConfig
    # Highest spool sequence per stream the server has already stored: the agent drops
    # anything at or below it instead of resending.
    acked: dict[str, int] = msgspec.field(default_factory=dict)


class Refuse(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Sent before the server closes a link it will not serve; `permanent` means do not retry."""

    code: str
    message: str
    permanent: bool = False


class Heartbeat(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Answered by an `ack` on stream "heartbeat" with the same `seq` (liveness both ways)."""

    seq: int
    sent_at: float
    uptime: float = 0.0
    spool_pending: int = 0
    problems: tuple[str, ...] = ()
