"""Fleet benchmark: N simulated agents against one real server process.

Prints: agents connected, time to connect all (new agents: enrollment included), server CPU and RSS while the fleet idles
(heartbeats + metric batches), heartbeat round trip p50/p99 (measured by the simulator),
and server->agent ping round trip p50/p99, both for pings spread over time ("steady") and
for one burst pinging every agent at once ("burst"). Never fails on time.

    .venv/bin/python bench/fleet.py --agents 1000
    .venv/bin/python bench/fleet.py --agents 5000 --heartbeat 10
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.processes import ServerProcess, enrollment_token


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Simulator:
    """`opsplane simulate` in a subprocess; keeps its latest JSON summary."""

    def __init__(self, url: str, token: str, agents: int) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opsplane",
                "simulate",
                "--server",
                url,
                "--enroll",
                token,
                "--agents",
                str(agents),
                "--report-interval",
                "2",
                "--name-prefix",
                "bench",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.latest: dict[str, Any] = {}
        self.windows: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.latest = json.loads(line)
            except ValueError:
                continue
            self.windows.append(self.latest)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_connected(sim: Simulator, agents: int, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if sim.latest.get("connected", 0) >= agents:
            return time.monotonic() - started
        time.sleep(0.5)
    return float("nan")


def ping_rtts(client: httpx.Client, node_ids: list[str] | None) -> tuple[list[float], int]:
    body: dict[str, Any] = {"timeout": 10}
    if node_ids is not None:
        body["node_ids"] = node_ids
    results = client.post("/api/v1/nodes/ping", json=body, timeout=120).json()
    ok = [r["rtt_ms"] for r in results if r["ok"]]
    return ok, len(results) - len(ok)


def steady_pings(client: httpx.Client, seconds: float, per_round: int) -> tuple[list[float], int]:
    node_ids = [n["id"] for n in client.get("/api/v1/nodes", params={"limit": 500}).json()["items"]]
    rtts: list[float] = []
    failed = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sample = random.sample(node_ids, min(per_round, len(node_ids)))
        ok, bad = ping_rtts(client, sample)
        rtts += ok
        failed += bad
        time.sleep(0.5)
    return rtts, failed


def gc_pauses(client: httpx.Client) -> dict[str, tuple[float, float, float]]:
    """generation -> (pauses, seconds in them, smallest bucket holding the longest) so far."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, list[float]] = {}
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name != "opsplane_gc_pause_seconds":
            continue
        for sample in family.samples:
            gen = sample.labels.get("generation", "")
            entry = found.setdefault(gen, [0.0, 0.0, 0.0, -1.0])
            if sample.name.endswith("_count"):
                entry[0] = sample.value
            elif sample.name.endswith("_sum"):
                entry[1] = sample.value
            elif sample.name.endswith("_bucket") and sample.value > entry[3]:
                entry[2], entry[3] = float(sample.labels["le"]), sample.value
    return {gen: (e[0], e[1], e[2]) for gen, e in found.items()}


def restart_and_reconnect(
    server: ServerProcess, sim: Simulator, agents: int
) -> tuple[float, float]:
    """Restart the server (SIGTERM, start again on the same data and port); returns (seconds
    until every agent is linked again from the new server being ready, seconds it was down)."""
    stopped = time.monotonic()
    server.stop()
    while sim.latest.get("connected", agents) >= agents and time.monotonic() - stopped < 30:
        time.sleep(0.2)  # the simulator has seen the links drop
    server.start()
    ready = time.monotonic()
    return wait_connected(sim, agents, timeout=max(120, agents / 20)), ready - stopped


def run(agents: int, heartbeat: float, metrics: float, settle: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp) / "server",
            env={
                "OPSPLANE_HEARTBEAT_INTERVAL": str(heartbeat),
                "OPSPLANE_METRICS_INTERVAL": str(metrics),
                "OPSPLANE_LOG_LEVEL": "warning",
            },
        )
        server.start()
        client = server.client()
        sim = Simulator(server.url, enrollment_token(client, max_uses=agents), agents)
        try:
            connect_s = wait_connected(sim, agents, timeout=max(120, agents / 20))
            assert server.proc is not None
            proc = psutil.Process(server.proc.pid)
            time.sleep(min(10, settle))  # let the connect burst pass
            cpu0, wall0 = proc.cpu_times(), time.monotonic()
            gc0 = gc_pauses(client)
            sim.windows.clear()
            time.sleep(settle)
            cpu1, wall1 = proc.cpu_times(), time.monotonic()
            idle_windows = list(sim.windows)
            steady, steady_failed = steady_pings(client, 20, 50)
            burst, burst_failed = ping_rtts(client, None)
            rss_mb = proc.memory_info().rss / 2**20
            gc1 = gc_pauses(client)
            reconnect_s, down_s = restart_and_reconnect(server, sim, agents)
        finally:
            final = sim.latest
            sim.stop()
            server.close()
    hb = [w["heartbeat_rtt_ms"] for w in idle_windows if w.get("heartbeat_rtt_ms", {}).get("count")]
    return {
        "agents": agents,
        "heartbeat_interval_s": heartbeat,
        "metrics_interval_s": metrics,
        "connected": final.get("connected"),
        "connect_all_s": round(connect_s, 2),
        "simulator_connect_all_s": final.get("connect_all_s"),
        "server_cpu_cores_idle_fleet": round(
            ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (wall1 - wall0), 3
        ),
        "server_rss_mb": round(rss_mb, 1),
        "heartbeat_rtt_ms_p50": round(statistics.median(w["p50"] for w in hb), 2) if hb else None,
        "heartbeat_rtt_ms_p99": round(max(w["p99"] for w in hb), 2) if hb else None,
        "ping_steady_ms_p50": round(percentile(steady, 0.5), 2),
        "ping_steady_ms_p99": round(percentile(steady, 0.99), 2),
        "ping_steady_count": len(steady),
        "ping_steady_failed": steady_failed,
        "ping_burst_ms_p50": round(percentile(burst, 0.5), 2),
        "ping_burst_ms_p99": round(percentile(burst, 0.99), 2),
        "ping_burst_count": len(burst),
        "ping_burst_failed": burst_failed,
        # full collections while measuring: how many, their total, the longest (bucket bound)
        "server_gc_full_count": gc1.get("2", (0, 0, 0))[0] - gc0.get("2", (0, 0, 0))[0],
        "server_gc_full_total_s": round(gc1.get("2", (0, 0, 0))[1] - gc0.get("2", (0, 0, 0))[1], 3),
        "server_gc_full_max_s_le": gc1.get("2", (0, 0, 0))[2],
        # the whole fleet back after a graceful server restart: known agents reconnecting
        # with their backoff (no enrollment), from the new server being ready
        "restart_down_s": round(down_s, 2),
        "reconnect_all_after_restart_s": round(reconnect_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--agents", type=int, nargs="+", default=[1000])
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--metrics", type=float, default=10.0)
    parser.add_argument("--settle", type=float, default=30.0)
    args = parser.parse_args()
    for n in args.agents:
        result = run(n, args.heartbeat, args.metrics, args.settle)
        width = max(len(k) for k in result)
        print(f"\n== fleet bench: {n} agents ==")
        for key, value in result.items():
            print(f"  {key:<{width}}  {value}")
        print(json.dumps(result))


if __name__ == "__main__":
    main()
