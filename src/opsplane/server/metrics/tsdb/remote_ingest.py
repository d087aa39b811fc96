"""Remote write bodies into the TSDB: the scanned fast path, the codec for everything else.

The whole body is checked before anything is stored (a 400 writes nothing).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import cramjam
import numpy as np

from opsplane.server.metrics.remote_write import (
    MAX_DECOMPRESSED_BYTES,
    RemoteWriteError,
    WriteRequest,
    decode_proto,
)
from opsplane.server.metrics.tsdb.keycache import LabelKeyCache
from opsplane.server.metrics.tsdb.registry import SeriesRegistry
from opsplane.server.metrics.tsdb.samples import Int64Array
from opsplane.server.metrics.tsdb.validation import invalid_series
from opsplane.server.metrics.tsdb.wire import Scanned, scan

if TYPE_CHECKING:
    from opsplane.server.metrics.tsdb.tsdb import TSDB

_OFFLOAD_BYTES = 256 << 10
_MAX_KEYS_PER_SERIES = 4  # encodings of one label set we remember (senders are consistent)


class InvalidWrite(ValueError):
    """A decodable request that cannot be stored (invalid names): answered with 400."""


class RemoteWriteIngest:
    def __init__(self, tsdb: TSDB) -> None:
        self.tsdb = tsdb
        self._keys = LabelKeyCache()
        self.fast_bodies = 0
        self.slow_bodies = 0

    async def ingest(self, body: bytes) -> int:
        """Store a remote write body (snappy + protobuf); returns the sample count.

        Raises:
            RemoteWriteError: the body is not a remote write request.
            InvalidWrite: it is one, but names a series Prometheus would refuse.
        """
        # Big bodies are unpacked in a worker thread: the scan releases the GIL, and the
        # event loop keeps serving agent links meanwhile.
        big = len(body) > _OFFLOAD_BYTES
        raw, scanned = await asyncio.to_thread(_unpack, body) if big else _unpack(body)
        if scanned is not None:
            ids = self._known(raw, scanned)
            if ids is not None:
                self.fast_bodies += 1
                counts = scanned.series[:, 3]
                await self.tsdb.commit(np.repeat(ids, counts), scanned.timestamps, scanned.values)
                return len(scanned.timestamps)
        self.slow_bodies += 1
        request = await asyncio.to_thread(decode_proto, raw) if big else decode_proto(raw)
        problem = invalid_series(request, self.tsdb.registry)
        if problem is not None:
            raise InvalidWrite(problem)
        stored = await self.tsdb.append(request.timeseries)
        if scanned is not None:
            self._remember(raw, scanned, request)
        return stored

    def _known(self, raw: bytes, scanned: Scanned) -> Int64Array | None:
        """Series ids for every series of the body, or None if one is new or unusual."""
        ids = self._keys.lookup(raw, scanned.series)
        if ids is None or not self.tsdb.registry.stats.alive[ids].all():
            return None  # a new series, or one forgotten since: the slow path re-resolves
        return ids

    def _remember(self, raw: bytes, scanned: Scanned, request: WriteRequest) -> None:
        if len(request.timeseries) != len(scanned.series):
            return  # the scan and the decoder disagree: never trust the scan for this body
        registry: SeriesRegistry = self.tsdb.registry
        if len(self._keys) > _MAX_KEYS_PER_SERIES * (len(registry) + 1024):
            self._keys.clear()  # forgotten series and odd senders: start over, stay bounded
        for row, series in zip(scanned.series.tolist(), request.timeseries, strict=True):
            start, end, _, _, contiguous = row
            series_id = registry.lookup(series.labels)
            if contiguous and start >= 0 and series_id is not None:
                self._keys.insert(raw[start:end], series_id)


def _unpack(body: bytes) -> tuple[bytes, Scanned | None]:
    raw = _decompress(body)
    return raw, scan(raw)


def _decompress(body: bytes) -> bytes:
    try:
        size = int(cramjam.snappy.decompress_raw_len(body))
    except Exception as exc:  # cramjam raises its own DecompressionError
        raise RemoteWriteError(f"snappy: {exc}") from exc
    if size > MAX_DECOMPRESSED_BYTES:
        raise RemoteWriteError(f"body inflates to {size} bytes, over {MAX_DECOMPRESSED_BYTES}")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception as exc:
        raise RemoteWriteError(f"snappy: {exc}") from exc
