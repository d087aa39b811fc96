"""Fast path for remote write bodies: a compiled protobuf scan straight into numpy columns.

Decoding a WriteRequest into Python objects costs tens of microseconds per series, more
than everything else on the ingest path together. Steady-state remote write repeats the
same series, so this scan (numba, no Python objects per sample) returns per series only
the byte span of its encoded labels, plus every sample's timestamp and value in arrays.
The label span is the key of a cache `bytes -> series id`: when every series of a body
is known, the samples go to the TSDB with no per-sample Python at all.

Anything else (a new series, labels interleaved with samples, a body the scan refuses)
takes the codec's `decode_proto`, which stays the reference decoder and error reporter;
`tests/server/metrics/tsdb/test_wire.py` checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array

# Per series: label span start, end, first sample index, sample count, labels contiguous.
SERIES_COLUMNS = 5
_OK, _CORRUPT = 0, 1


@njit(cache=True, nogil=True)
def _varint(buf, pos, end):  # type: ignore[no-untyped-def]
    """(value, next position); next position -1 when the varint is cut or too long."""
    result = np.uint64(0)
    shift = np.uint64(0)
    while pos < end:
        byte = buf[pos]
        pos += 1
        result |= np.uint64(byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += np.uint64(7)
        if shift >= np.uint64(70):
            return result, -1
    return result, -1


@njit(cache=True, nogil=True)
def _skip(buf, pos, end, wire_type):  # type: ignore[no-untyped-def]
    if wire_type == 0:
        _, pos = _varint(buf, pos, end)
        return pos
    if wire_type == 1:
        return pos + 8 if pos + 8 <= end else -1
    if wire_type == 5:
        return pos + 4 if pos + 4 <= end else -1
    if wire_type == 2:
        length, pos = _varint(buf, pos, end)
        if pos < 0 or pos + length > end:
            return -1
        return pos + np.int64(length)
    return -1  # groups (3, 4) are not in remote write: let the reference decoder judge


@njit(cache=True, nogil=True)
def _sample(buf, pos, end, bits, floats):  # type: ignore[no-untyped-def]
    """(timestamp, value, status) of one Sample message in buf[pos:end]."""
    timestamp = np.int64(0)
    value = 0.0
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return 0, 0.0, _CORRUPT
        field, wire_type = key >> np.uint64(3), key & np.uint64(7)
        if field == 1 and wire_type == 1 and pos + 8 <= end:
            word = np.uint64(0)
            for i in range(8):
                word |= np.uint64(buf[pos + i]) << np.uint64(8 * i)
            bits[0] = word
            value = floats[0]
            pos += 8
        elif field == 2 and wire_type == 0:
            raw, pos = _varint(buf, pos, end)
            timestamp = np.int64(raw)
        else:
            pos = _skip(buf, pos, end, np.int64(wire_type))
        if pos < 0:
            return 0, 0.0, _CORRUPT
    return timestamp, value, _OK


@njit(cache=True, nogil=True)
def _scan(buf, fill, series, timestamps, values, bits, floats):  # type: ignore[no-untyped-def]
    """Walk a WriteRequest: (series count, sample count, status); fills the arrays if asked."""
    end = len(buf)
    pos = 0
    n_series = 0
    n_samples = 0
    while pos < end:
        key, pos = _varint(buf, pos, end)
        if pos < 0:
            return 0, 0, _CORRUPT
        if key != 10:  # anything but field 1 (timeseries), length-delimited
            pos = _skip(buf, pos, end, np.int64(key & np.uint64(7)))
            if pos < 0:
                return 0, 0, _CORRUPT
            continue
        length, pos = _varint(buf, pos, end)
        stop = pos + np.int64(length)
        if pos < 0 or stop > end:
            return 0, 0, _CORRUPT
        label_start, label_end, contiguous, first = -1, -1, 1, n_samples
        while pos < stop:
            tag_at = pos
            inner, pos = _varint(buf, pos, stop)
            if pos < 0:
                return 0, 0, _CORRUPT
            if inner == 10 or inner == 18:  # a Label or a Sample message
                size, pos = _varint(buf, pos, stop)
                after = pos + np.int64(size)
                if pos < 0 or after > stop:
                    return 0, 0, _CORRUPT
                if inner == 10:
                    if label_start < 0:
                        label_start = tag_at
                    elif label_end != tag_at:
                        contiguous = 0
                    label_end = after
                else:
                    ts, value, status = _sample(buf, pos, after, bits, floats)
                    if status != _OK:
                        return 0, 0, _CORRUPT
                    if fill:
                        timestamps[n_samples] = ts
                        values[n_samples] = value
                    n_samples += 1
                pos = after
            else:
                pos = _skip(buf, pos, stop, np.int64(inner & np.uint64(7)))
                if pos < 0:
                    return 0, 0, _CORRUPT
        if fill:
            series[n_series, 0] = label_start
            series[n_series, 1] = label_end
            series[n_series, 2] = first
            series[n_series, 3] = n_samples - first
            series[n_series, 4] = contiguous
        n_series += 1
    return n_series, n_samples, _OK


@dataclass(frozen=True, slots=True)
class Scanned:
    """A WriteRequest as columns: `series` rows are SERIES_COLUMNS wide (see above)."""

    series: Int64Array
    timestamps: Int64Array
    values: Float64Array


def scan(raw: bytes) -> Scanned | None:
    """Columns of an uncompressed WriteRequest, or None if the scan refuses it."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    bits = np.zeros(1, dtype=np.uint64)
    floats = bits.view(np.float64)
    empty_i = np.empty((0, SERIES_COLUMNS), dtype=np.int64)
    empty_t, empty_v = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    n_series, n_samples, status = _scan(buf, False, empty_i, empty_t, empty_v, bits, floats)
    if status != _OK:
        return None
    series = np.empty((n_series, SERIES_COLUMNS), dtype=np.int64)
    timestamps = np.empty(n_samples, dtype=np.int64)
    values = np.empty(n_samples, dtype=np.float64)
    _scan(buf, True, series, timestamps, values, bits, floats)
    return Scanned(series, timestamps, values)


def warm_up() -> None:
    """Compile (or load from numba's cache) before the first request needs it."""
    from opsplane.server.metrics.remote_write import TimeSeries, WriteRequest, encode_proto

    scan(encode_proto(WriteRequest([TimeSeries.of({"__name__": "warm_up"}, [(1, 1.0)])])))
