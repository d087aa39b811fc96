"""Remote write 1.0 codec: round trips, staleness markers, and refusals of bad bodies."""

from __future__ import annotations

import http.server
import math
import struct
import threading
import time
from pathlib import Path
from typing import ClassVar

import cramjam
import numpy as np
import pytest

from opsplane.server.metrics import remote_write
from opsplane.server.metrics.model import STALE_NAN, is_stale
from opsplane.server.metrics.remote_write import (
    MetricMetadata,
    RemoteWriteError,
    TimeSeries,
    WriteRequest,
)
from tests.support.env import free_port
from tests.support.prometheus import PrometheusServer


def _request() -> WriteRequest:
    return WriteRequest(
        timeseries=[
            TimeSeries.of(
                {"__name__": "up", "job": "node", "instance": "a:9100"},
                [(1_700_000_000_000, 1.0), (1_700_000_015_000, STALE_NAN)],
            ),
            TimeSeries.of({"__name__": "temp", "zone": "ü"}, [(1, -math.inf), (2, math.nan)]),
        ],
        metadata=[MetricMetadata("up", type="gauge", help="Up.", unit="")],
    )


def test_round_trip_keeps_labels_samples_and_metadata() -> None:
    decoded = remote_write.decode(remote_write.encode(_request()))
    first, second = decoded.timeseries
    assert first.labels == {"__name__": "up", "job": "node", "instance": "a:9100"}
    assert first.timestamps.tolist() == [1_700_000_000_000, 1_700_000_015_000]
    assert first.values[0] == 1.0
    assert second.labels["zone"] == "ü"
    assert second.values[0] == -math.inf
    assert decoded.metadata == [MetricMetadata("up", type="gauge", help="Up.", unit="")]
    assert decoded.sample_count == 4


def test_stale_marker_bits_survive_while_plain_nan_stays_plain() -> None:
    decoded = remote_write.decode(remote_write.encode(_request()))
    assert is_stale(float(decoded.timeseries[0].values[1]))
    plain = float(decoded.timeseries[1].values[1])
    assert math.isnan(plain)
    assert not is_stale(plain)


def test_labels_are_written_sorted_by_name() -> None:
    raw = remote_write.encode_proto(_request())
    assert raw.index(b"__name__") < raw.index(b"instance") < raw.index(b"job")


def test_body_is_snappy_block_format_not_framed() -> None:
    body = remote_write.encode(_request())
    assert bytes(cramjam.snappy.decompress_raw(body)) == remote_write.encode_proto(_request())


def test_sample_wire_encoding_matches_prompb_field_numbers() -> None:
    # Sample{value=1 (field 1, fixed64), timestamp=5 (field 2, varint)} inside TimeSeries
    # field 2, inside WriteRequest field 1.
    request = WriteRequest([TimeSeries.of({}, [(5, 1.0)])])
    sample = b"\x09" + struct.pack("<d", 1.0) + b"\x10\x05"
    series = b"\x12" + bytes([len(sample)]) + sample
    assert remote_write.encode_proto(request) == b"\x0a" + bytes([len(series)]) + series


def test_unknown_metric_type_decodes_as_unknown() -> None:
    request = WriteRequest(metadata=[MetricMetadata("x", type="bogus")])
    assert remote_write.decode(remote_write.encode(request)).metadata[0].type == "unknown"


@pytest.mark.parametrize("body", [b"", b"\xff\xff\xff\xff\x0f", b"not snappy at all"])
def test_garbage_is_refused(body: bytes) -> None:
    with pytest.raises(RemoteWriteError):
        remote_write.decode(body)


def test_snappy_wrapped_garbage_protobuf_is_refused() -> None:
    body = bytes(cramjam.snappy.compress_raw(b"\x0a\xff\xff\xff"))
    with pytest.raises(RemoteWriteError, match="protobuf"):
        remote_write.decode(body)


def test_empty_request_round_trips() -> None:
    decoded = remote_write.decode(remote_write.encode(WriteRequest()))
    assert decoded == WriteRequest()


def test_large_request_decodes_to_numpy_columns() -> None:
    ts = np.arange(10_000, dtype=np.int64) * 1000
    request = WriteRequest([TimeSeries({"__name__": "c"}, ts, ts.astype(np.float64))])
    decoded = remote_write.decode(remote_write.encode(request)).timeseries[0]
    assert decoded.timestamps.dtype == np.int64
    np.testing.assert_array_equal(decoded.values, ts.astype(np.float64))


class _Receiver(http.server.BaseHTTPRequestHandler):
    """Decodes what a real Prometheus remote-writes to it."""

    received: ClassVar[list[WriteRequest]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        assert self.headers["Content-Encoding"] == "snappy"
        self.received.append(remote_write.decode(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.mark.integration
def test_decodes_what_a_real_prometheus_sends(tmp_path: Path) -> None:
    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    port = free_port()
    prometheus = PrometheusServer(
        tmp_path / "prometheus",
        port=port,
        scrape_configs=[
            {"job_name": "self", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        ],
        remote_write_urls=[f"http://127.0.0.1:{receiver.server_address[1]}/write"],
    )
    prometheus.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            series = [ts for r in _Receiver.received for ts in r.timeseries]
            metadata = {m.metric_family_name: m for r in _Receiver.received for m in r.metadata}
            if any(ts.labels.get("__name__") == "up" for ts in series) and metadata:
                break
            time.sleep(0.2)
        up = next(ts for ts in series if ts.labels.get("__name__") == "up")
        assert up.labels == {"__name__": "up", "job": "self", "instance": f"127.0.0.1:{port}"}
        assert up.values[0] == 1.0
        assert abs(int(up.timestamps[0]) - time.time() * 1000) < 120_000
        assert metadata["prometheus_build_info"].type == "gauge"
        assert metadata["prometheus_http_requests_total"].type == "counter"
    finally:
        prometheus.stop()
        receiver.shutdown()
        receiver.server_close()
