"""Prometheus remote write 1.0: `WriteRequest` as protobuf, snappy *block* compressed.

Both directions: `decode` for `POST /prometheus/api/v1/write` bodies, `encode` for sending
samples to a Prometheus-compatible TSDB (and for tests). The message classes are built at
import time from a descriptor written here in code (the subset of `prometheus/prompb` that
remote write 1.0 carries), so no generated module or `.proto` toolchain is needed.
Native histograms are not modelled: their field is left unknown and ignored on decode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cramjam
import numpy as np
import numpy.typing as npt
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError

HEADERS: Mapping[str, str] = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
"""The headers a remote write 1.0 sender sets."""

METRIC_TYPES = (
    "unknown",
    "counter",
    "gauge",
    "histogram",
    "gaugehistogram",
    "summary",
    "info",
    "stateset",
)
"""`MetricMetadata.MetricType` enum values, by number, spelled as Prometheus's API spells them."""

MAX_DECOMPRESSED_BYTES = 64 << 20
"""Refuse bodies that would inflate beyond this: a bound against decompression bombs."""


class RemoteWriteError(ValueError):
    """A body that is not a valid remote write 1.0 request (answered with 400)."""


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """One series in a write request; timestamps in ms, in the order the sender put them."""

    labels: dict[str, str]
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    @classmethod
    def of(cls, labels: Mapping[str, str], samples: Iterable[tuple[int, float]]) -> TimeSeries:
        pairs = list(samples)
        return cls(
            dict(labels),
            np.array([ts for ts, _ in pairs], dtype=np.int64),
            np.array([v for _, v in pairs], dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class MetricMetadata:
    metric_family_name: str
    type: str = "unknown"
    help: str = ""
    unit: str = ""


@dataclass(frozen=True, slots=True)
class WriteRequest:
    timeseries: list[TimeSeries] = field(default_factory=list)
    metadata: list[MetricMetadata] = field(default_factory=list)

    @property
    def sample_count(self) -> int:
        return sum(len(ts.timestamps) for ts in self.timeseries)


def encode(request: WriteRequest) -> bytes:
    """A remote write body: the protobuf message, snappy block compressed."""
    return bytes(cramjam.snappy.compress_raw(encode_proto(request)))


def decode(body: bytes) -> WriteRequest:
    """Parse a remote write body (snappy block + protobuf); raises `RemoteWriteError`."""
    try:
        size = int(cramjam.snappy.decompress_raw_len(body))
    except Exception as exc:  # cramjam raises its own DecompressionError
        raise RemoteWriteError(f"snappy: {exc}") from exc
    if size > MAX_DECOMPRESSED_BYTES:
        raise RemoteWriteError(f"body inflates to {size} bytes, over {MAX_DECOMPRESSED_BYTES}")
    try:
        raw = bytes(cramjam.snappy.decompress_raw(body))
    except Exception as exc:
        raise RemoteWriteError(f"snappy: {exc}") from exc
    return decode_proto(raw)


def encode_proto(request: WriteRequest) -> bytes:
    message = _WriteRequest()
    for series in request.timeseries:
        out = message.timeseries.add()
        # Prometheus requires labels sorted by name within a series.
        for name in sorted(series.labels):
            out.labels.add(name=name, value=series.labels[name])
        for ts, value in zip(series.timestamps.tolist(), series.values.tolist(), strict=True):
            out.samples.add(value=value, timestamp=ts)
    for meta in request.metadata:
        message.metadata.add(
            type=_metric_type_number(meta.type),
            metric_family_name=meta.metric_family_name,
            help=meta.help,
            unit=meta.unit,
        )
    data: bytes = message.SerializeToString()
    return data


def decode_proto(raw: bytes) -> WriteRequest:
    message = _WriteRequest()
    try:
        message.ParseFromString(raw)
    except DecodeError as exc:
        raise RemoteWriteError(f"protobuf: {exc}") from exc
    return WriteRequest(
        timeseries=[_series_from_message(ts) for ts in message.timeseries],
        metadata=[_metadata_from_message(m) for m in message.metadata],
    )


def _series_from_message(message: Any) -> TimeSeries:
    samples = message.samples
    count = len(samples)
    return TimeSeries(
        {label.name: label.value for label in message.labels},
        np.fromiter((s.timestamp for s in samples), dtype=np.int64, count=count),
        np.fromiter((s.value for s in samples), dtype=np.float64, count=count),
    )


def _metadata_from_message(message: Any) -> MetricMetadata:
    number = int(message.type)
    return MetricMetadata(
        metric_family_name=message.metric_family_name,
        type=METRIC_TYPES[number] if 0 <= number < len(METRIC_TYPES) else "unknown",
        help=message.help,
        unit=message.unit,
    )


def _metric_type_number(name: str) -> int:
    try:
        return METRIC_TYPES.index(name.lower())
    except ValueError:
        return 0


# --- message classes, from a descriptor of the remote write 1.0 subset of prompb ----------

_F = descriptor_pb2.FieldDescriptorProto


def _field(name: str, number: int, kind: int, *, repeated: bool = False, ref: str = "") -> Any:
    label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
    spec = _F(name=name, number=number, type=kind, label=label)  # type: ignore[arg-type]
    if ref:
        spec.type_name = f".prometheus.{ref}"
    return spec


def _message(name: str, fields: Sequence[Any]) -> descriptor_pb2.DescriptorProto:
    return descriptor_pb2.DescriptorProto(name=name, field=list(fields))


def _build_file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="opsplane/prometheus_remote_write.proto", package="prometheus", syntax="proto3"
    )
    metric_type = descriptor_pb2.EnumDescriptorProto(name="MetricType")
    for number, name in enumerate(METRIC_TYPES):
        metric_type.value.add(name=name.upper(), number=number)
    metadata = _message(
        "MetricMetadata",
        [
            _field("type", 1, _F.TYPE_ENUM, ref="MetricMetadata.MetricType"),
            _field("metric_family_name", 2, _F.TYPE_STRING),
            _field("help", 4, _F.TYPE_STRING),
            _field("unit", 5, _F.TYPE_STRING),
        ],
    )
    metadata.enum_type.append(metric_type)
    proto.message_type.extend(
        [
            _message(
                "WriteRequest",
                [
                    _field("timeseries", 1, _F.TYPE_MESSAGE, repeated=True, ref="TimeSeries"),
                    _field("metadata", 3, _F.TYPE_MESSAGE, repeated=True, ref="MetricMetadata"),
                ],
            ),
            metadata,
            _message(
                "Sample",
                [_field("value", 1, _F.TYPE_DOUBLE), _field("timestamp", 2, _F.TYPE_INT64)],
            ),
            _message(
                "Exemplar",
                [
                    _field("labels", 1, _F.TYPE_MESSAGE, repeated=True, ref="Label"),
                    _field("value", 2, _F.TYPE_DOUBLE),
                    _field("timestamp", 3, _F.TYPE_INT64),
                ],
            ),
            _message(
                "TimeSeries",
                [
                    _field("labels", 1, _F.TYPE_MESSAGE, repeated=True, ref="Label"),
                    _field("samples", 2, _F.TYPE_MESSAGE, repeated=True, ref="Sample"),
                    _field("exemplars", 3, _F.TYPE_MESSAGE, repeated=True, ref="Exemplar"),
                ],
            ),
            _message(
                "Label", [_field("name", 1, _F.TYPE_STRING), _field("value", 2, _F.TYPE_STRING)]
            ),
        ]
    )
    return proto


def _build_classes() -> dict[str, Any]:
    # A private pool: the default one is process-wide and another library may register the
    # same `prometheus.*` names.
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_build_file())
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{name}"))
        for name in ("WriteRequest", "TimeSeries", "Sample", "Label", "MetricMetadata")
    }


_CLASSES = _build_classes()
_WriteRequest: Any = _CLASSES["WriteRequest"]
