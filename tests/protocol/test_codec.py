"""Every frame type survives a round trip; bad input gives a clear ProtocolError."""

from __future__ import annotations

import msgspec
import pytest

from opsplane.protocol import codec
from opsplane.protocol.commands import Command, Result
from opsplane.protocol.inventory import Disk, Inventory
from opsplane.protocol.session import AgentConfig, Heartbeat, Hello, Refuse, Welcome
from opsplane.protocol.telemetry import Ack, Event, EventBatch, MetricBatch, MetricPoint

INVENTORY = Inventory(
    hostname="h",
    os="Debian 12",
    kernel="6.1",
    arch="x86_64",
    cpu_model="Xeon",
    cpu_count=2,
    memory_bytes=1 << 30,
    disks=(Disk("/dev/vda1", "/", "ext4", 10 << 30),),
    ip_addresses=("10.0.0.1",),
    boot_time=1.5,
    agent_version="0.1.0",
)

SAMPLES: list[tuple[str, msgspec.Struct]] = [
    ("hello", Hello(1, "0.1.0", INVENTORY)),
    (
        "welcome",
        Welcome("n1", "node", "0.1.0", AgentConfig(labels={"env": "prod"}), {"metrics": 4}),
    ),
    ("refuse", Refuse("revoked", "node revoked", permanent=True)),
    ("heartbeat", Heartbeat(7, 1.0, 2.0, 3, ("spool backlog 3",))),
    ("metrics", MetricBatch(1, 2, (MetricPoint("cpu", {"cpu": "0"}, 1000, 0.5),))),
    ("events", EventBatch(3, 3, (Event("started", "agent started", 1.0, {"pid": 1}),))),
    ("ack", Ack("metrics", 2)),
    ("command", Command("ping", {"sent_at": 1.0}, 2.0)),
    ("result", Result(ok=False, error="unknown command")),
]


@pytest.mark.parametrize(("frame_type", "body"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_round_trip(frame_type: str, body: msgspec.Struct) -> None:
    frame, decoded = codec.decode(codec.encode(frame_type, body, frame_id="x1"))
    assert frame.type == frame_type
    assert frame.id == "x1"
    assert decoded == body


def test_metric_points_are_compact_arrays() -> None:
    data = codec.encode("metrics", MetricBatch(1, 1, (MetricPoint("m", {}, 5, 1.0),)))
    assert b'["m",{},5,1.0]' in data


def test_newer_peers_may_add_body_fields() -> None:
    _frame, body = codec.decode(b'{"type":"ack","body":{"stream":"metrics","seq":1,"new":2}}')
    assert body == Ack("metrics", 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "malformed frame"),
        (b'{"type":"nope","body":{}}', "unknown frame type 'nope'"),
        (b'{"type":"ack","body":{"stream":"metrics"}}', "bad ack body"),
        (b'{"type":"ack","body":{"stream":"m","seq":1},"extra":1}', "malformed frame"),
        (b'{"type":"heartbeat","body":{"seq":"one","sent_at":1}}', "bad heartbeat body"),
    ],
)
def test_bad_frames_are_refused_with_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(codec.ProtocolError, match=message):
        codec.decode(data)


def test_encode_refuses_a_body_of_the_wrong_type() -> None:
    with pytest.raises(TypeError, match="needs a Ack body"):
        codec.encode("ack", Heartbeat(1, 1.0))


def test_file_batches_round_trip() -> None:
    from opsplane.protocol.files import FileBatch, FileNotice

    batch = FileBatch(
        4,
        5,
        (
            FileNotice(
                "created", "k1", "/d/a.hprof", 10, 1.0, app="shop", metadata={"namespace": "prod"}
            ),
        ),
    )
    assert codec.decode(codec.encode("files", batch))[1] == batch
