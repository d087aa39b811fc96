"""The running server's shared parts, built once by `create_app` and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from opsplane.server.auth.cache import PrincipalCache
from opsplane.server.auth.ratelimit import LoginRateLimiter
from opsplane.server.bus.base import Bus
from opsplane.server.db import Database
from opsplane.server.observability import ServerMetrics
from opsplane.server.settings import Settings

if TYPE_CHECKING:
    from opsplane.server.alerts.engine import AlertEngine
    from opsplane.server.blobs import BlobStore
    from opsplane.server.dumps.pipeline import DumpPipeline
    from opsplane.server.fleet.commands import CommandDispatcher
    from opsplane.server.fleet.links import LinkRegistry
    from opsplane.server.fleet.presence import Presence
    from opsplane.server.fleet.service import ConfigContributor
    from opsplane.server.metrics.model import QueryBackend
    from opsplane.server.metrics.sink import MetricSink
    from opsplane.server.metrics.tsdb import TSDB
    from opsplane.server.stream.hub import StreamHub


@dataclass
class ServerContext:
    settings: Settings
    db: Database
    bus: Bus
    signing_key: str
    login_limiter: LoginRateLimiter
    instruments: ServerMetrics
    principals: PrincipalCache = field(default_factory=PrincipalCache)
    # Filled in by the domains when the app is wired (see app.py).
    links: LinkRegistry = field(init=False)
    presence: Presence = field(init=False)
    commands: CommandDispatcher = field(init=False)
    metrics: MetricSink = field(init=False)
    tsdb: TSDB = field(init=False)  # the metrics Queryable (embedded TSDB or remote view)
    stream: StreamHub = field(init=False)
    query_backend: QueryBackend = field(init=False)  # answers /prometheus/api/v1
    alerts: AlertEngine = field(init=False)
    # Other domains' parts of every node's AgentConfig (see fleet.service.effective_config).
    agent_config: list[ConfigContributor] = field(default_factory=list)
    blobs: BlobStore = field(init=False)  # large payloads: dumps, reports (first user sets it)
    dumps: DumpPipeline = field(init=False)
