"""The remote backend (`metrics_backend = "prometheus"`): the scale-out path.

Every sample is remote-written (1.0: snappy + protobuf) to a Prometheus-compatible TSDB
(Prometheus, VictoriaMetrics, Mimir) and queries are answered by its HTTP API.

- Writes: `commit` appends the samples to a disk queue (the WAL's segment format and group
  commit: the agent is acked once they are on disk) and to a small in-memory head (the
  fleet pages' window). A sender task reads sealed queue segments in order, batches them,
  POSTs with exponential backoff on network errors, 5xx and 429 (forever: nothing is
  dropped while the remote is down, the queue just grows on disk), and deletes a segment
  once all of it is accepted. Its position is saved after every accepted batch, so a crash
  resends at most one batch (Prometheus ignores an identical resent sample).
- Reads: `RemoteQueryBackend` forwards the Prometheus API; `select` & co. answer the
  `Queryable` seam from the remote too (raw samples through a range selector).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import structlog

from opsplane.server.metrics.model import LabelMatcher, QueryError, SeriesData
from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode
from opsplane.server.metrics.tsdb import TSDB, TSDBConfig
from opsplane.server.metrics.tsdb.samples import Float64Array, Int64Array
from opsplane.server.metrics.tsdb.wal import WriteAheadLog, read_segment
from opsplane.server.settings import Settings

log = structlog.get_logger(__name__)

_Record = list[tuple[dict[str, str], bytes, bytes]]
ROTATE_SECONDS = 0.5
SEGMENT_BYTES = 8 << 20
MAX_BACKOFF = 30.0


def encode_record(series: list[tuple[dict[str, str], Int64Array, Float64Array]]) -> bytes:
    return msgspec.msgpack.encode(
        [
            (labels, ts.astype("<i8").tobytes(), values.astype("<f8").tobytes())
            for labels, ts, values in series
        ]
    )


def decode_record(payload: bytes) -> list[TimeSeries]:
    raw = msgspec.msgpack.decode(payload, type=_Record)
    return [
        TimeSeries(
            labels,
            np.frombuffer(ts, dtype="<i8").astype(np.int64),
            np.frombuffer(values, dtype="<f8").astype(np.float64),
        )
        for labels, ts, values in raw
    ]


class RemoteQueue:
    """Disk-backed FIFO of remote write records, drained by `run` into `send`."""

    def __init__(
        self, directory: Path, *, fsync: Any, batch_samples: int, segment_bytes: int = SEGMENT_BYTES
    ) -> None:
        # Small segments: while the remote is down the sender sits on the oldest one, and
        # it reads one whole segment at a time back into memory.
        self.wal = WriteAheadLog(directory, fsync=fsync, segment_bytes=segment_bytes)
        self.position_file = directory / "position.json"
        self.batch_samples = batch_samples
        self.sent_batches = 0

    def open(self) -> None:
        self.wal.open()

    async def put(self, payload: bytes) -> None:
        await self.wal.append(payload)
        if self.wal.rotate_if_large():
            await self.wal.rotate()

    def _position(self) -> tuple[int, int]:
        try:
            data = json.loads(self.position_file.read_text())
            return int(data["segment"]), int(data["records"])
        except (OSError, ValueError, KeyError):
            return 0, 0

    def _save_position(self, segment: int, records: int) -> None:
        tmp = self.position_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"segment": segment, "records": records}))
        os.replace(tmp, self.position_file)

    async def run(self, send: Any) -> None:
        """Forever: seal the current segment when it has data, then send sealed ones."""
        last_rotate = time.monotonic()
        waiting = [int(p.stem) for p in self.wal.segments() if int(p.stem) < self.wal.segment]
        next_number = min(waiting, default=self.wal.segment)
        while True:
            if next_number < self.wal.segment:
                path = self.wal.directory / f"{next_number:08d}.wal"
                if await asyncio.to_thread(path.exists):
                    await self._drain(path, send)
                next_number += 1
            elif self.wal.size and time.monotonic() - last_rotate >= ROTATE_SECONDS:
                await self.wal.rotate()
                last_rotate = time.monotonic()
            else:
                await asyncio.sleep(0.1)

    async def _drain(self, path: Path, send: Any) -> None:
        number = int(path.stem)
        records, _ = await asyncio.to_thread(read_segment, path)
        saved_segment, done = self._position()
        done = done if saved_segment == number else 0
        while done < len(records):
            batch: list[TimeSeries] = []
            taken = 0
            while (
                done + taken < len(records)
                and sum(len(s.timestamps) for s in batch) < self.batch_samples
            ):
                batch.extend(decode_record(records[done + taken]))
                taken += 1
            await send(batch)
            done += taken
            self.sent_batches += 1
            await asyncio.to_thread(self._save_position, number, done)
        await asyncio.to_thread(path.unlink, missing_ok=True)


class RemoteWriter:
    """POSTs remote write requests, retrying what a sender must retry."""

    def __init__(self, url: str, token: str | None) -> None:
        headers = dict(HEADERS)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        self.client = httpx.AsyncClient(headers=headers, timeout=30)

    async def send(self, batch: list[TimeSeries]) -> None:
        body = await asyncio.to_thread(encode, WriteRequest(batch))
        delay = 0.2
        while True:
            try:
                response = await self.client.post(self.url, content=body)
                if response.status_code < 300:
                    return
                if response.status_code < 500 and response.status_code != 429:
                    # Refused for good (out of order, invalid): retrying would block the queue.
                    log.warning(
                        "remote write refused a batch",
                        status=response.status_code,
                        error=response.text[:300],
                        series=len(batch),
                    )
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = str(exc) or type(exc).__name__
            log.info("remote write failed; retrying", error=problem, in_seconds=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)

    async def close(self) -> None:
        await self.client.aclose()


def selector(matchers: Sequence[LabelMatcher]) -> str:
    """A PromQL vector selector for the matchers (values quoted as JSON strings are PromQL)."""
    return "{" + ",".join(f"{m.name}{m.op}{json.dumps(m.value)}" for m in matchers) + "}"


class RemoteQueryBackend:
    """`QueryBackend` answered by a remote Prometheus-compatible HTTP API."""

    def __init__(self, base_url: str, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1", headers=headers, timeout=120
        )

    async def _call(
        self,
        path: str,
        params: list[tuple[str, Any]],
        *,
        post: bool = False,
        timeout: float | None = None,
    ) -> Any:
        try:
            if post:
                response = await self.client.post(path, data=dict(params), timeout=timeout)
            else:
                response = await self.client.get(path, params=params, timeout=timeout)
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise QueryError(f"remote TSDB unreachable: {exc}", error_type="unavailable") from exc
        if body.get("status") != "success":
            raise QueryError(
                str(body.get("error", f"HTTP {response.status_code}")),
                error_type=str(body.get("errorType", "execution")),
            )
        return body["data"]

    @staticmethod
    def _range(
        match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[tuple[str, Any]]:
        params: list[tuple[str, Any]] = [("match[]", m) for m in match]
        if start_s is not None:
            params.append(("start", start_s))
        if end_s is not None:
            params.append(("end", end_s))
        return params

    async def instant_query(self, expr: str, time_s: float, *, timeout_s: float) -> dict[str, Any]:
        params = [("query", expr), ("time", time_s), ("timeout", _duration(timeout_s))]
        data: dict[str, Any] = await self._call("/query", params, post=True, timeout=timeout_s + 5)
        return data

    async def range_query(
        self, expr: str, start_s: float, end_s: float, step_s: float, *, timeout_s: float
    ) -> dict[str, Any]:
        params = [
            ("query", expr),
            ("start", start_s),
            ("end", end_s),
            ("step", step_s),
            ("timeout", _duration(timeout_s)),
        ]
        data: dict[str, Any] = await self._call(
            "/query_range", params, post=True, timeout=timeout_s + 5
        )
        return data

    async def label_names(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        return list(await self._call("/labels", self._range(match, start_s, end_s)) or [])

    async def label_values(
        self, name: str, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[str]:
        path = f"/label/{name}/values"
        return list(await self._call(path, self._range(match, start_s, end_s)) or [])

    async def series(
        self, match: Sequence[str], start_s: float | None, end_s: float | None
    ) -> list[dict[str, str]]:
        return list(await self._call("/series", self._range(match, start_s, end_s)) or [])

    async def metadata(self, metric: str | None, limit: int | None) -> dict[str, Any]:
        params: list[tuple[str, Any]] = []
        if metric:
            params.append(("metric", metric))
        if limit is not None:
            params.append(("limit", limit))
        data: dict[str, Any] = await self._call("/metadata", params)
        return data

    async def close(self) -> None:
        await self.client.aclose()


class RemoteStorage(TSDB):
    """The MetricSink/Queryable of the remote backend: disk queue out, remote API in."""

    def __init__(self, settings: Settings) -> None:
        if not settings.metrics_remote_url:
            raise ValueError('metrics_backend = "prometheus" needs metrics_remote_url')
        super().__init__(TSDBConfig.memory(head_window_ms=settings.metrics_window_seconds * 1000))
        token = (
            settings.metrics_remote_token.get_secret_value()
            if settings.metrics_remote_token
            else None
        )
        base = settings.metrics_remote_url.rstrip("/")
        self.writer = RemoteWriter(
            settings.metrics_remote_write_url or f"{base}/api/v1/write", token
        )
        self.queue = RemoteQueue(
            settings.data_dir / "remote-write",
            fsync=settings.metrics_wal_fsync,
            batch_samples=settings.metrics_remote_batch_samples,
        )
        self.remote_api = RemoteQueryBackend(base, token)
        self.query_backend = self.remote_api
        self._sender: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteStorage:
        return cls(settings)

    async def start(self) -> list[asyncio.Task[None]]:
        await super().start()
        self.queue.open()
        self._sender = asyncio.get_running_loop().create_task(
            self.queue.run(self.writer.send), name="remote-write"
        )
        return []

    async def stop(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender
        await self.queue.wal.close()
        await self.writer.close()
        await self.remote_api.close()
        await super().stop()

    async def commit(self, ids: Int64Array, timestamps: Int64Array, values: Float64Array) -> None:
        """Queue on disk for the remote (then ack), and keep the recent window in memory."""
        await super().commit(ids, timestamps, values)
        order = np.lexsort((timestamps, ids))  # a remote refuses out-of-order samples
        ids, timestamps, values = ids[order], timestamps[order], values[order]
        cuts = np.flatnonzero(np.diff(ids)) + 1
        series = [
            (self.registry.labels(int(group[0])), ts, vs)
            for group, ts, vs in zip(
                np.split(ids, cuts), np.split(timestamps, cuts), np.split(values, cuts), strict=True
            )
            if int(group[0]) in self.registry
        ]
        await self.queue.put(encode_record(series))

    # --- Queryable, from the remote -----------------------------------------------------

    async def select(
        self, matchers: Sequence[LabelMatcher], start_ms: int, end_ms: int
    ) -> list[SeriesData]:
        """Raw samples through `selector[range]` at `end` (stale markers are not returned)."""
        expr = f"{selector(matchers)}[{max(1, end_ms - start_ms)}ms]"
        data = await self.remote_api.instant_query(expr, end_ms / 1000, timeout_s=60)
        out = []
        for item in data.get("result", []):
            pairs = item.get("values", [])
            out.append(
                SeriesData(
                    dict(item["metric"]),
                    np.array([round(float(t) * 1000) for t, _ in pairs], dtype=np.int64),
                    np.array([float(v) for _, v in pairs], dtype=np.float64),
                )
            )
        return out

    def _groups(self, match: Sequence[Sequence[LabelMatcher]]) -> list[str]:
        return [selector(group) for group in match] or ['{__name__=~".+"}']

    async def label_names(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        return await self.remote_api.label_names(
            [selector(g) for g in match], start_ms / 1000, end_ms / 1000
        )

    async def label_values(
        self, name: str, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[str]:
        return await self.remote_api.label_values(
            name, [selector(g) for g in match], start_ms / 1000, end_ms / 1000
        )

    async def series(
        self, match: Sequence[Sequence[LabelMatcher]], start_ms: int, end_ms: int
    ) -> list[dict[str, str]]:
        return await self.remote_api.series(self._groups(match), start_ms / 1000, end_ms / 1000)


def _duration(seconds: float) -> str:
    """A Prometheus duration ("1.5s" is not one: whole milliseconds are)."""
    return f"{max(1, round(seconds * 1000))}ms"
