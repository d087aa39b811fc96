"""Spooled streams from agent to server: metric batches and events, acked by sequence."""

from __future__ import annotations

from typing import Any

import msgspec

AGENT_JOB = "opsplane-agent"
"""The `job` label of an agent's own points (scraped points carry their target's job)."""


class MetricPoint(msgspec.Struct, frozen=True, array_like=True):
    """One sample: (name, labels, timestamp in ms, value). Array-encoded to keep batches small."""

    name: str
    labels: dict[str, str]
    ts_ms: int
    value: float


class MetricBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Spool records `first_seq..seq` of the metrics stream, in order."""

    first_seq: int
    seq: int
    points: tuple[MetricPoint, ...]


class Event(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    kind: str
    message: str
    at: float
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class EventBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    first_seq: int
    seq: int
    events: tuple[Event, ...]


class Ack(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """Everything in `stream` up to and including `seq` is stored; the agent may drop it."""

    stream: str
    seq: int
