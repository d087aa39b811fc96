"""Ingest benchmark: remote write into a real `opsplane server` vs a real Prometheus 2.42.

The same pre-encoded remote write 1.0 bodies (snappy + protobuf, shaped like Prometheus's own
sender: `--per-request` samples per request, one sample per series each) are posted to both
receivers with the same concurrency, in the same run. Prints, per receiver: server CPU
seconds (user + system of the server process, via psutil) per million samples, request
latency median and p99, and the CPU ratio opsplane / Prometheus. Never fails on time.

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --samples 1000000 --series 5000

`measure_ingest(...)` is what other benchmarks (bench/alerting.py) call.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.processes import ServerProcess, login
from tests.support.prometheus import PrometheusServer

from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode


@dataclass(frozen=True)
class ReceiverFigures:
    name: str
    samples: int
    cpu_seconds: float
    wall_seconds: float
    latency_p50_ms: float
    latency_p99_ms: float

    @property
    def cpu_s_per_million(self) -> float:
        return self.cpu_seconds / self.samples * 1e6


@dataclass(frozen=True)
class IngestResult:
    opsplane: ReceiverFigures
    prometheus: ReceiverFigures

    @property
    def ratio(self) -> float:
        """opsplane CPU per sample / Prometheus CPU per sample (target: <= 1)."""
        return self.opsplane.cpu_s_per_million / self.prometheus.cpu_s_per_million


def make_bodies(*, samples: int, series: int, per_request: int, seed: int = 7) -> list[bytes]:
    """Bodies covering `samples` samples: rounds of one sample per series, recent timestamps."""
    rng = np.random.default_rng(seed)
    rounds = max(1, samples // series)
    end = int(time.time() * 1000)
    start = end - rounds * 1000  # 1 s apart, ending now: inside any receiver's head window
    labels = [
        {
            "__name__": f"bench_metric_{i % 50}",
            "instance": f"host-{i // 50}:9100",
            "job": "node",
            "series": str(i),
        }
        for i in range(series)
    ]
    counters = rng.integers(0, 1000, series).astype(np.float64)
    bodies: list[bytes] = []
    batch: list[TimeSeries] = []
    for round_ in range(rounds):
        counters += rng.integers(0, 100, series)
        ts = np.array([start + round_ * 1000], dtype=np.int64)
        for i in range(series):
            batch.append(TimeSeries(labels[i], ts, counters[i : i + 1].copy()))
            if len(batch) == per_request:
                bodies.append(encode(WriteRequest(batch)))
                batch = []
    if batch:
        bodies.append(encode(WriteRequest(batch)))
    return bodies


async def _post_all(
    url: str, shards: Sequence[Sequence[bytes]], headers: dict[str, str]
) -> list[float]:
    """POST every shard's bodies in order, shards concurrently; returns latencies (s)."""
    latencies: list[float] = []

    async def worker(client: httpx.AsyncClient, bodies: Sequence[bytes]) -> None:
        for body in bodies:
            began = time.perf_counter()
            response = await client.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - began)
            if response.status_code >= 300:
                raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")

    async with httpx.AsyncClient(timeout=60) as client:
        await asyncio.gather(*(worker(client, shard) for shard in shards))
    return latencies


def shard(bodies: Sequence[bytes], *, groups: int, concurrency: int) -> list[list[bytes]]:
    """Like Prometheus's sender: a series always goes through the same shard, in order
    (receivers refuse out-of-order samples)."""
    shards: list[list[bytes]] = [[] for _ in range(concurrency)]
    for index, body in enumerate(bodies):
        shards[index % groups % concurrency].append(body)
    return shards


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def _measure(
    name: str,
    pid: int,
    url: str,
    bodies: Sequence[bytes],
    samples: int,
    headers: dict[str, str],
    groups: int,
    concurrency: int,
) -> ReceiverFigures:
    # Warm up on whole rounds (connections, series creation, lazy imports), then measure.
    warmup = max(1, len(bodies) // 20 // groups) * groups
    asyncio.run(
        _post_all(url, shard(bodies[:warmup], groups=groups, concurrency=concurrency), headers)
    )
    cpu_before, wall_before = _cpu(pid), time.perf_counter()
    latencies = asyncio.run(
        _post_all(url, shard(bodies[warmup:], groups=groups, concurrency=concurrency), headers)
    )
    wall = time.perf_counter() - wall_before
    time.sleep(0.5)  # let the receiver finish work it queued (fsyncs, appends) before sampling
    cpu = _cpu(pid) - cpu_before
    measured = samples * (len(bodies) - warmup) // len(bodies)
    ordered = sorted(latencies)
    return ReceiverFigures(
        name,
        measured,
        cpu,
        wall,
        statistics.median(ordered) * 1000,
        ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
    )


def measure_ingest(
    *,
    samples: int = 500_000,
    series: int = 2_000,
    per_request: int = 500,
    concurrency: int = 4,
    workdir: Path | None = None,
    opsplane_env: dict[str, str] | None = None,
) -> IngestResult:
    """Run both receivers on the same bodies and return their figures.

    Args:
        opsplane_env: extra `OPSPLANE_*` settings for the server (e.g. the WAL fsync policy).
    """
    with tempfile.TemporaryDirectory() as tmp:
        root = workdir or Path(tmp)
        bodies = make_bodies(samples=samples, series=series, per_request=per_request)
        total = max(1, samples // series) * series
        groups = -(-series // per_request)
        (root / "opsplane").mkdir(parents=True, exist_ok=True)
        server = ServerProcess(root / "opsplane" / "data", env=dict(opsplane_env or {}))
        server.start(timeout=120)
        try:
            token = _api_token(server.url)
            assert server.proc is not None
            ours = _measure(
                "opsplane",
                server.proc.pid,
                f"{server.url}/prometheus/api/v1/write",
                bodies,
                total,
                {**HEADERS, "Authorization": f"Bearer {token}"},
                groups,
                concurrency,
            )
        finally:
            server.stop()
        prometheus = PrometheusServer(root / "prometheus").start()
        try:
            assert prometheus.proc is not None
            theirs = _measure(
                "prometheus",
                prometheus.proc.pid,
                f"{prometheus.url}/api/v1/write",
                bodies,
                total,
                dict(HEADERS),
                groups,
                concurrency,
            )
        finally:
            prometheus.stop()
    return IngestResult(ours, theirs)


def _api_token(url: str) -> str:
    headers = {"Authorization": f"Bearer {login(url)}"}
    response = httpx.post(f"{url}/api/v1/auth/tokens", json={"name": "bench"}, headers=headers)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=500_000)
    parser.add_argument("--series", type=int, default=2_000)
    parser.add_argument("--per-request", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--wal-fsync",
        choices=["always", "interval"],
        default="always",
        help="opsplane's WAL policy (Prometheus never fsyncs per request)",
    )
    args = parser.parse_args()
    result = measure_ingest(
        samples=args.samples,
        series=args.series,
        per_request=args.per_request,
        concurrency=args.concurrency,
        opsplane_env={"OPSPLANE_METRICS_WAL_FSYNC": args.wal_fsync},
    )
    print(
        f"ingest: {args.samples} samples, {args.series} series, "
        f"{args.per_request} samples/request, concurrency {args.concurrency}, "
        f"opsplane WAL fsync {args.wal_fsync}"
    )
    for figures in (result.opsplane, result.prometheus):
        print(
            f"  {figures.name:<10} CPU {figures.cpu_s_per_million:6.2f} s per million samples"
            f"  ({figures.cpu_seconds:.2f} CPU-s, {figures.wall_seconds:.1f} s wall)"
            f"  latency p50 {figures.latency_p50_ms:.1f} ms  p99 {figures.latency_p99_ms:.1f} ms"
        )
    print(f"  ratio opsplane/prometheus CPU per sample: {result.ratio:.2f} (target <= 1.00)")
    print({"opsplane": asdict(result.opsplane), "prometheus": asdict(result.prometheus)})


if __name__ == "__main__":
    main()
