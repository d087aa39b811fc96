"""LocalQueryBackend: queries in seconds, match[] selectors, metadata from remote write."""

from __future__ import annotations

import pytest

from opsplane.server.metrics.local_backend import LocalQueryBackend, parse_series_selectors
from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.remote_write import MetricMetadata
from tests.server.metrics.promql.memory import MemoryQueryable


@pytest.fixture
def backend() -> LocalQueryBackend:
    store = MemoryQueryable()
    store.add({"__name__": "up", "job": "api", "instance": "a"}, [(1_000_000, 1.0)])
    store.add({"__name__": "up", "job": "db", "instance": "b"}, [(1_000_000, 0.0)])
    return LocalQueryBackend(store)


async def test_queries_take_seconds(backend: LocalQueryBackend) -> None:
    data = await backend.instant_query("scalar(sum(up))", 1000.0, timeout_s=5)
    assert data["result"] == [1000, "1"]
    data = await backend.range_query("count(up)", 1000.0, 1030.0, 15.0, timeout_s=5)
    assert data["result"][0]["values"] == [(1000, "2"), (1015, "2"), (1030, "2")]


async def test_labels_values_and_series(backend: LocalQueryBackend) -> None:
    assert await backend.label_names([], None, None) == ["__name__", "instance", "job"]
    assert await backend.label_values("job", ['up{instance="b"}'], None, None) == ["db"]
    assert await backend.series(['{job=~"a.*"}'], 0.0, 2000.0) == [
        {"__name__": "up", "instance": "a", "job": "api"}
    ]


def test_match_must_be_a_plain_selector() -> None:
    assert [m.name for m in parse_series_selectors(['up{job="a"}'])[0]] == ["__name__", "job"]
    for bad in ("rate(up[5m])", "up offset 5m", "sum(", ""):
        with pytest.raises(QueryError, match=r'invalid parameter "match\[\]"'):
            parse_series_selectors([bad])


async def test_metadata_from_remote_write(backend: LocalQueryBackend) -> None:
    backend.metadata_registry.record_remote_write(
        [
            MetricMetadata("up", type="gauge", help="Target is up."),
            MetricMetadata("http_requests_total", type="counter", help="Requests."),
            MetricMetadata("up", type="gauge", help="Target is up."),
        ]
    )
    assert await backend.metadata(None, None) == {
        "http_requests_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
        "up": [{"type": "gauge", "help": "Target is up.", "unit": ""}],
    }
    assert list(await backend.metadata("up", None)) == ["up"]
    assert len(await backend.metadata(None, 1)) == 1
    assert await backend.metadata(None, 0) == {}
