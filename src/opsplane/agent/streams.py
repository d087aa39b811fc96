"""The spooled streams: how items are stored in spool records and turned into link frames.

A spool record holds the JSON array of one tick's points (or one burst of events, or file
notices); a frame coalesces consecutive records into one batch covering `first_seq..seq`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import msgspec

from opsplane.agent.spool import SpoolRecord
from opsplane.protocol.codec import encode
from opsplane.protocol.files import FileBatch, FileNotice
from opsplane.protocol.telemetry import Event, EventBatch, MetricBatch, MetricPoint

METRICS: Final = "metrics"
EVENTS: Final = "events"
FILES: Final = "files"

_encoder = msgspec.json.Encoder()
_points_decoder = msgspec.json.Decoder(list[MetricPoint])
_events_decoder = msgspec.json.Decoder(list[Event])
_notices_decoder = msgspec.json.Decoder(list[FileNotice])

FrameBuilder = Callable[[Sequence[SpoolRecord]], bytes]


def encode_points(points: Sequence[MetricPoint]) -> bytes:
    return _encoder.encode(points)


def encode_events(events: Sequence[Event]) -> bytes:
    return _encoder.encode(events)


def encode_notices(notices: Sequence[FileNotice]) -> bytes:
    return _encoder.encode(notices)


def metrics_frame(records: Sequence[SpoolRecord]) -> bytes:
    points = [point for record in records for point in _points_decoder.decode(record.payload)]
    batch = MetricBatch(records[0].seq, records[-1].seq, tuple(points))
    return encode("metrics", batch)


def events_frame(records: Sequence[SpoolRecord]) -> bytes:
    events = [event for record in records for event in _events_decoder.decode(record.payload)]
    batch = EventBatch(records[0].seq, records[-1].seq, tuple(events))
    return encode("events", batch)


def files_frame(records: Sequence[SpoolRecord]) -> bytes:
    notices = [n for record in records for n in _notices_decoder.decode(record.payload)]
    return encode("files", FileBatch(records[0].seq, records[-1].seq, tuple(notices)))


FRAME_BUILDERS: Final[dict[str, FrameBuilder]] = {
    METRICS: metrics_frame,
    EVENTS: events_frame,
    FILES: files_frame,
}
