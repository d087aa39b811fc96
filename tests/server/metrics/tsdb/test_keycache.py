"""Label key cache: exact hits only, growth, replacement of a forgotten series' id."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.tsdb.keycache import LabelKeyCache


def spans_for(raw: bytes, keys: list[bytes]) -> np.ndarray:
    rows, at = [], 0
    for key in keys:
        start = raw.index(key, at)
        rows.append([start, start + len(key), 0, 1, 1])
        at = start + len(key)
    return np.array(rows, dtype=np.int64).reshape(-1, 5)


def test_lookup_is_exact_and_survives_growth() -> None:
    cache = LabelKeyCache(capacity=8)
    keys = [f"series-{i}".encode() for i in range(500)]
    for i, key in enumerate(keys):
        cache.insert(key, 1000 + i)
    raw = b"|".join(keys)
    ids = cache.lookup(raw, spans_for(raw, keys))
    assert ids is not None
    assert ids.tolist() == [1000 + i for i in range(500)]
    unknown = b"series-9999"
    assert cache.lookup(unknown, spans_for(unknown, [unknown])) is None
    assert len(cache) == 500


def test_reinserting_a_key_replaces_its_id() -> None:
    cache = LabelKeyCache()
    cache.insert(b"k", 1)
    cache.insert(b"k", 7)
    ids = cache.lookup(b"k", spans_for(b"k", [b"k"]))
    assert ids is not None
    assert ids.tolist() == [7]
    assert len(cache) == 1
    cache.clear()
    assert cache.lookup(b"k", spans_for(b"k", [b"k"])) is None


def test_spans_the_scan_could_not_use_are_misses() -> None:
    cache = LabelKeyCache()
    cache.insert(b"k", 1)
    interleaved = np.array([[0, 1, 0, 1, 0]], dtype=np.int64)
    no_labels = np.array([[-1, -1, 0, 1, 1]], dtype=np.int64)
    assert cache.lookup(b"k", interleaved) is None
    assert cache.lookup(b"k", no_labels) is None


async def test_a_forgotten_series_comes_back_under_a_new_id() -> None:
    from opsplane.server.metrics.model import LabelMatcher
    from opsplane.server.metrics.remote_write import TimeSeries, WriteRequest, encode
    from opsplane.server.metrics.tsdb import TSDB, TSDBConfig

    tsdb = TSDB(TSDBConfig.memory(head_window_ms=3_600_000))
    await tsdb.open()
    ingest = tsdb.remote_writes

    def body(ts: int) -> bytes:
        return encode(WriteRequest([TimeSeries.of({"__name__": "m", "node_id": "n"}, [(ts, 1.0)])]))

    await ingest.ingest(body(1))
    await ingest.ingest(body(2))
    assert (ingest.slow_bodies, ingest.fast_bodies) == (1, 1)
    tsdb.forget_series(tsdb.matching([LabelMatcher("node_id", "=", "n")]))
    await ingest.ingest(body(3))
    await ingest.ingest(body(4))
    assert (ingest.slow_bodies, ingest.fast_bodies) == (2, 2)
    [found] = await tsdb.select([LabelMatcher("__name__", "=", "m")], 0, 10)
    assert found.timestamps.tolist() == [3, 4]
