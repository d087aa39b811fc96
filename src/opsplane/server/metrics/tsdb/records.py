"""The two WAL record kinds: new series (id + labels) and a batch of samples.

Sample batches are stored as three raw numpy columns, so logging and replaying cost no
per-sample Python. A series record always precedes the first samples that use its id.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import msgspec
import numpy as np

from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array

SERIES, SAMPLES = 1, 2
_COUNT = struct.Struct("<BI")


@dataclass(frozen=True, slots=True)
class SeriesRecord:
    series: list[tuple[int, dict[str, str]]]


@dataclass(frozen=True, slots=True)
class SamplesRecord:
    ids: Int64Array
    timestamps: Int64Array
    values: Float64Array


def encode_series(series: list[tuple[int, dict[str, str]]]) -> bytes:
    return bytes([SERIES]) + msgspec.msgpack.encode(series)


def encode_samples(ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> bytes:
    header = _COUNT.pack(SAMPLES, len(ids))
    return b"".join(
        (
            header,
            ids.astype("<i8").tobytes(),
            timestamps.astype("<i8").tobytes(),
            values.astype("<f8").tobytes(),
        )
    )


def decode(payload: bytes) -> SeriesRecord | SamplesRecord:
    kind = payload[0]
    if kind == SERIES:
        raw = msgspec.msgpack.decode(payload[1:], type=list[tuple[int, dict[str, str]]])
        return SeriesRecord(raw)
    if kind == SAMPLES:
        _, count = _COUNT.unpack_from(payload)
        body = memoryview(payload)[_COUNT.size :]
        width = 8 * count
        return SamplesRecord(
            np.frombuffer(body[:width], dtype="<i8").astype(np.int64),
            np.frombuffer(body[width : 2 * width], dtype="<i8").astype(np.int64),
            np.frombuffer(body[2 * width : 3 * width], dtype="<f8").astype(np.float64),
        )
    raise ValueError(f"unknown WAL record kind {kind}")
