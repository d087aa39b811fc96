"""The spine's MetricSink over the TSDB: agent labels, window, latest, forget."""

from __future__ import annotations

from opsplane.protocol.telemetry import MetricPoint
from opsplane.server.bus.subjects import NodeRef
from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.sink import TSDBSink
from opsplane.server.metrics.tsdb.samples import now_ms
from tests.server.metrics.tsdb.conftest import OpenTSDB

NODE = NodeRef("n-1", "web-1", {"env": "prod", "job": "operator-wins-not", "disk": "node"})


async def test_agent_points_get_node_labels_with_the_documented_precedence(
    open_tsdb: OpenTSDB,
) -> None:
    sink = TSDBSink(await open_tsdb())
    now = now_ms()
    await sink.write(NODE, [MetricPoint("host_disk_used_bytes", {"disk": "sda"}, now, 5.0)])
    [found] = await sink.tsdb.select([LabelMatcher("node_id", "=", "n-1")], now - 1, now)
    assert found.labels == {
        "__name__": "host_disk_used_bytes",
        "disk": "sda",
        "env": "prod",
        "job": "opsplane-agent",
        "node": "web-1",
        "node_id": "n-1",
    }


async def test_window_and_latest_select_by_node_and_name(open_tsdb: OpenTSDB) -> None:
    sink = TSDBSink(await open_tsdb())
    now = now_ms()
    other = NodeRef("n-2", "web-2", {})
    await sink.write(
        NODE,
        [
            MetricPoint("host_load1", {}, now - 2000, 0.5),
            MetricPoint("host_cpu", {"cpu": "0"}, now - 2000, 0.1),
        ],
    )
    await sink.write(
        NODE,
        [
            MetricPoint("host_load1", {}, now - 1000, 0.7),
            MetricPoint("host_load1", {}, now - 2000, 0.5),  # resent after a reconnect
        ],
    )
    await sink.write(other, [MetricPoint("host_load1", {}, now, 9.0)])
    [window] = sink.window("n-1", names=["host_load1"], since_ms=now - 5000)
    assert window.name == "host_load1"
    assert window.labels == {}
    assert window.points == [(now - 2000, 0.5), (now - 1000, 0.7)]
    assert len(sink.window("n-1", names=None, since_ms=now - 5000)) == 2
    latest = {s.name: s for s in sink.latest("n-1")}
    assert latest["host_load1"].points == [(now - 1000, 0.7)]
    assert latest["host_cpu"].labels == {"cpu": "0"}
    sink.forget("n-1")
    assert sink.window("n-1", names=None, since_ms=0) == []
    assert sink.latest("n-1") == []
    assert [s.points for s in sink.latest("n-2")] == [[(now, 9.0)]]
