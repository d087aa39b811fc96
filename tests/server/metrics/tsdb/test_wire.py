"""The compiled remote write scan agrees with the codec's reference decoder."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsplane.server.metrics.model import STALE_NAN
from opsplane.server.metrics.remote_write import (
    MetricMetadata,
    TimeSeries,
    WriteRequest,
    decode_proto,
    encode_proto,
)
from opsplane.server.metrics.tsdb.wire import scan

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
label_sets = st.dictionaries(names, st.text(max_size=6), min_size=1, max_size=4)
samples = st.lists(
    st.tuples(st.integers(-(2**62), 2**62), st.floats(allow_nan=True, allow_infinity=True)),
    max_size=4,
)


def assert_agrees(raw: bytes) -> None:
    reference = decode_proto(raw)
    scanned = scan(raw)
    assert scanned is not None
    assert len(scanned.series) == len(reference.timeseries)
    for row, series in zip(scanned.series.tolist(), reference.timeseries, strict=True):
        start, end, first, count, contiguous = row
        ts = scanned.timestamps[first : first + count]
        values = scanned.values[first : first + count]
        assert ts.tolist() == series.timestamps.tolist()
        assert values.view(np.uint64).tolist() == series.values.view(np.uint64).tolist()
        if series.labels:
            assert contiguous == 1
            labels_only = decode_proto(b"\x0a" + _varint(end - start) + raw[start:end])
            assert labels_only.timeseries[0].labels == series.labels


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(label_sets, samples), max_size=5))
def test_scan_matches_the_codec(
    series: list[tuple[dict[str, str], list[tuple[int, float]]]],
) -> None:
    request = WriteRequest(
        [TimeSeries.of(labels, pairs) for labels, pairs in series],
        metadata=[MetricMetadata("up", "gauge", "help", "")],
    )
    assert_agrees(encode_proto(request))


def test_special_values_and_empty_series() -> None:
    request = WriteRequest(
        [
            TimeSeries.of({"__name__": "a"}, [(0, 0.0), (-5, -0.0), (7, STALE_NAN)]),
            TimeSeries.of({"__name__": "b"}, []),
        ]
    )
    assert_agrees(encode_proto(request))


@pytest.mark.parametrize("raw", [b"\x0a\x05\x0a", b"\x0a", b"\xff" * 11, b"\x0b\x00"])
def test_broken_bodies_are_refused(raw: bytes) -> None:
    assert scan(raw) is None


def test_interleaved_labels_are_flagged() -> None:
    label = b"\x0a\x05\x0a\x01a\x12\x00"  # Label{name: "a", value: ""}
    sample = b"\x12\x02\x10\x01"  # Sample{timestamp: 1}
    body = label + sample + label
    raw = b"\x0a" + _varint(len(body)) + body
    scanned = scan(raw)
    assert scanned is not None
    assert scanned.series[0].tolist()[4] == 0
