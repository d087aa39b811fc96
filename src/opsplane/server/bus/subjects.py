"""Bus subjects and their message types."""

from __future__ import annotations

import msgspec

from opsplane.protocol.files import FileBatch
from opsplane.protocol.telemetry import EventBatch, MetricBatch

INGEST_METRICS = "ingest.metrics"
INGEST_EVENTS = "ingest.events"
INGEST_FILES = "ingest.files"
FLEET_STATUS = "fleet.status"


class NodeRef(msgspec.Struct, frozen=True):
    id: str
    name: str
    labels: dict[str, str] = msgspec.field(default_factory=dict)


class IngestMetrics(msgspec.Struct, frozen=True):
    node: NodeRef
    batch: MetricBatch


class IngestEvents(msgspec.Struct, frozen=True):
    node: NodeRef
    batch: EventBatch


class IngestFiles(msgspec.Struct, frozen=True):
    node: NodeRef
    batch: FileBatch


class StatusChange(msgspec.Struct, frozen=True):
    node: NodeRef
    old: str
    new: str
    reason: str
    at: float
