"""Alerting benchmark: time from a metric flip to the webhook, opsplane vs Prometheus +
Alertmanager, all measured in one run; then ingest CPU per million samples (bench/ingest.py).

The flip. A value `bench_flip` goes 0 -> 1 at a known instant t0 (time.time()); the figure
is the arrival of the "firing" webhook at a local receiver minus t0. The value is exposed on
a local /metrics endpoint that both Prometheus and a real `opsplane agent` scrape.

Systems (each with its own webhook receiver):

- opsplane: `opsplane server` and `opsplane agent`, the node's config scraping the endpoint
  every 1 s (like the tuned Prometheus); threshold rule `bench_flip > 0`, webhook channel,
  root route group_wait 0 (the default), group_interval 1 s. Two rows:
  - threshold checks 0.25 s (the default): the server hands the agent its threshold rules;
    the agent re-reads just those series every 0.25 s between scrapes and sends a sample only
    when it crosses a threshold (protocol/thresholds.py); the rule is judged on arrival;
  - checks off (the node's `threshold_check_interval` 0): the same sampling as Prometheus.
  The agent's CPU share is printed for both (checks re-scrape the endpoint 4x a second).
- opsplane, agent pushes at the flip: a real-protocol agent double
  (tests/server/alerts/flip_agent.py) sends the sample at the flip instant: the server's share.
- Prometheus + Alertmanager tuned: scrape 1 s, evaluation 1 s, --rules.alert.resend-delay=1s,
  Alertmanager group_wait 0s, group_interval 1s, group_by [alertname].
- Prometheus + Alertmanager defaults: Prometheus's built-in scrape_interval 1m,
  evaluation_interval 1m and resend-delay 1m; Alertmanager's route defaults group_wait 30s,
  group_interval 5m, repeat_interval 4h, with group_by [alertname] (as in Alertmanager's
  example config). Few flips, each on its own alert, run in the background meanwhile.

Before measuring, each Prometheus stack is warmed up until its first notification arrives
(a cold Prometheus drops the alerts of its first evaluations, see REAL-SERVERS.md). After
each flip the value goes back to 0 and the next flip waits for the resolved notification, so
every flip opens a new aggregation group; the pauses before the flips spread them evenly
over the 1 s sampling period (see `phases`). Prints median, p99 (with few flips p99 is about
the maximum) and ratios. Never fails on time; timings are noisy on a shared 2-core machine.

    .venv/bin/python bench/alerting.py                    # ~10 minutes
    .venv/bin/python bench/alerting.py --flips 10 --default-flips 0 --no-ingest
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.alerts.flip_agent import FlipAgent
from tests.server.alerts.receiver import Receiver
from tests.support.alertmanager import AlertmanagerServer, webhook_config
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for
from tests.support.prometheus import PrometheusServer

Figures = dict[str, list[float]]

CHECKS_ON = "opsplane (scrape 1 s, threshold checks 0.25 s)"
CHECKS_OFF = "opsplane (scrape 1 s, checks off)"
ON_CHANGE = "opsplane (agent pushes at the flip)"
TUNED = "Prometheus + Alertmanager tuned"
DEFAULTS = "Prometheus + Alertmanager defaults"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def firing_since(receiver: Receiver, start: int, alertname: str | None = None) -> float | None:
    """Arrival time of the first firing notification after request number `start`."""
    with receiver.lock:
        requests = receiver.requests[start:]
    for request in requests:
        body = request.json()
        if body.get("status") != "firing":
            continue
        names = {a["labels"].get("alertname") for a in body.get("alerts", [])}
        if alertname is None or alertname in names:
            return request.at
    return None


def resolved_since(receiver: Receiver, start: int) -> bool:
    with receiver.lock:
        return any(r.json().get("status") == "resolved" for r in receiver.requests[start:])


async def wait_until(predicate: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.002)
    raise TimeoutError


def phases(count: int) -> list[float]:
    """Flip phases spread evenly over one sampling period (a golden-ratio sequence from a
    random start). Every system's resolved notification, which each cycle waits for, comes
    at a fixed offset from its own sampling tick, so the phase of a flip against that tick
    is set by the pause before it: independent random pauses leave the median of a few
    dozen flips to chance (0.34 s and 0.73 s in two runs of the same code); evenly spread
    ones measure the delay over the whole period."""
    start = random.random()
    return [(start + i * 0.6180339887498949) % 1.0 for i in range(count)]


async def flip_cycle(
    receiver: Receiver, set_value: Callable[[float], Any], timeout: float = 30, phase: float = 0.5
) -> float:
    """One flip: 0 -> 1, time to the firing webhook, back to 0, wait for resolved."""
    await asyncio.sleep(0.2 + phase)  # `phase` of a 1 s period after the last notification
    start = len(receiver.requests)
    t0 = time.time()
    result = set_value(1)
    if asyncio.iscoroutine(result):
        await result
    arrived = await wait_until(lambda: firing_since(receiver, start), timeout)
    resolved_from = len(receiver.requests)
    result = set_value(0)
    if asyncio.iscoroutine(result):
        await result
    await wait_until(lambda: resolved_since(receiver, resolved_from), timeout)
    await asyncio.sleep(0.3)  # let the aggregation group close everywhere
    return float(arrived - t0)


# -- opsplane ---------------------------------------------------------------------------------


def node_id(client: httpx.Client, name: str) -> str | None:
    items = client.get("/api/v1/nodes", params={"search": name}).json()["items"]
    return next((n["id"] for n in items if n["name"] == name), None)


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def bench_opsplane(root: Path, flips: int, notes: list[str]) -> Figures:
    receiver = Receiver().start()
    exporter = Receiver(exposition="bench_flip 0\n").start()
    (root / "opsplane").mkdir(parents=True, exist_ok=True)
    server = ServerProcess(
        root / "opsplane" / "data",
        env={"OPSPLANE_ALERTS_GROUP_INTERVAL": "1", "OPSPLANE_LOG_LEVEL": "warning"},
    )
    server.start(timeout=120)
    agent: AgentProcess | None = None
    pusher: FlipAgent | None = None
    try:
        client = server.client()
        client.post(
            "/api/v1/alerts/channels",
            json={"name": "bench", "type": "webhook", "url": receiver.url},
        ).raise_for_status()
        client.post(
            "/api/v1/alerts/rules/threshold",
            json={"name": "BenchFlip", "metric": "bench_flip", "operator": ">", "threshold": 0},
        ).raise_for_status()
        agent = AgentProcess(
            server.url, root / "opsplane" / "agent", enroll=enrollment_token(client), name="host"
        ).start()
        node = await asyncio.to_thread(
            wait_for, lambda: node_id(client, "host"), timeout=60, what="the agent's node"
        )

        def configure(**overrides: Any) -> None:
            client.put(
                f"/api/v1/nodes/{node}/config",
                json={
                    "metrics_interval": 1,
                    "scrape_targets": [f"flip={exporter.url}/metrics"],
                    **overrides,
                },
            ).raise_for_status()

        def set_exposed(value: float) -> None:
            exporter.exposition = f"bench_flip {value}\n"

        async def row(name: str, **overrides: Any) -> list[float]:
            configure(**overrides)
            await asyncio.sleep(2)  # the agent applies the config, scrapes, ticks
            await flip_cycle(receiver, set_exposed)  # warm-up
            assert agent is not None
            assert agent.proc is not None
            cpu, wall = cpu_seconds(agent.proc.pid), time.monotonic()
            figures = [await flip_cycle(receiver, set_exposed, phase=p) for p in phases(flips)]
            share = (cpu_seconds(agent.proc.pid) - cpu) / (time.monotonic() - wall)
            notes.append(f"agent CPU while measuring '{name}': {share * 100:.1f} % of a core")
            return figures

        checks_off = await row(CHECKS_OFF, threshold_check_interval=0)
        checks_on = await row(CHECKS_ON)  # the server default, 0.25 s

        # The server's own share: an agent that sends the sample at the flip instant.
        pusher = await FlipAgent(server.url, enrollment_token(client), "pusher").start()
        pusher.set("bench_flip", 0)
        await pusher.push()
        flip_agent = pusher

        async def set_and_push(value: float) -> None:
            flip_agent.set("bench_flip", value)
            await flip_agent.push()

        await flip_cycle(receiver, set_and_push)  # warm-up
        on_change = [await flip_cycle(receiver, set_and_push, phase=p) for p in phases(flips)]
        return {CHECKS_ON: checks_on, CHECKS_OFF: checks_off, ON_CHANGE: on_change}
    finally:
        if pusher is not None:
            await pusher.close()
        if agent is not None:
            agent.stop()
        server.stop()
        receiver.stop()
        exporter.stop()


# -- Prometheus + Alertmanager ----------------------------------------------------------------


class PromStack:
    """Exporter -> Prometheus (rules) -> Alertmanager -> webhook receiver."""

    def __init__(self, root: Path, *, rules: list[str], tuned: bool) -> None:
        self.exporter = Receiver().start()
        self.values = {name: 0.0 for name in rules}
        self.render()
        self.receiver = Receiver().start()
        if tuned:
            am_config = webhook_config(self.receiver.url, group_wait="0s", group_interval="1s")
        else:
            am_config = {
                "route": {"receiver": "hook", "group_by": ["alertname"]},
                "receivers": [
                    {
                        "name": "hook",
                        "webhook_configs": [{"url": self.receiver.url, "send_resolved": True}],
                    }
                ],
            }
        self.am = AlertmanagerServer(root / "am", am_config).start()
        rule_file = root / "rules.yml"
        rule_file.write_text(
            json.dumps(
                {
                    "groups": [
                        {
                            "name": "bench",
                            "rules": [
                                {"alert": name, "expr": f'bench_flip{{flip="{name}"}} > 0'}
                                for name in rules
                            ],
                        }
                    ]
                }
            )
        )
        target = self.exporter.url.split("://", 1)[1]
        timing = ("1s", "1s", "1s") if tuned else ("1m", "1m", "1m")
        self.prom = PrometheusServer(
            root / "prom",
            rule_files=[rule_file],
            alertmanager_url=self.am.url,
            scrape_configs=[{"job_name": "flip", "static_configs": [{"targets": [target]}]}],
            scrape_interval=timing[0],
            evaluation_interval=timing[1],
            resend_delay=timing[2],
        ).start()

    def render(self) -> None:
        self.exporter.exposition = "".join(
            f'bench_flip{{flip="{name}"}} {value}\n' for name, value in self.values.items()
        )

    def set(self, name: str, value: float) -> None:
        self.values[name] = value
        self.render()

    def stop(self) -> None:
        for part in (self.prom, self.am, self.receiver, self.exporter):
            part.stop()


async def bench_tuned(root: Path, flips: int) -> Figures:
    stack = PromStack(root / "tuned", rules=["BenchFlip"], tuned=True)
    try:
        await flip_cycle(stack.receiver, lambda v: stack.set("BenchFlip", v), timeout=120)
        figures = [
            await flip_cycle(stack.receiver, lambda v: stack.set("BenchFlip", v), phase=p)
            for p in phases(flips)
        ]
        return {TUNED: figures}
    finally:
        stack.stop()


def bench_defaults(root: Path, flips: int, out: Figures) -> None:
    """Runs in a thread: warm-up, then `flips` staggered flips, each on its own alert."""
    names = ["Warmup", *[f"DefaultFlip{i}" for i in range(flips)]]
    stack = PromStack(root / "defaults", rules=names, tuned=False)
    try:
        start = len(stack.receiver.requests)
        stack.set("Warmup", 1)
        deadline = time.monotonic() + 600
        while firing_since(stack.receiver, start, "Warmup") is None:
            if time.monotonic() > deadline:
                raise TimeoutError("defaults stack never notified")
            time.sleep(0.05)
        flipped: dict[str, float] = {}
        for name in names[1:]:
            time.sleep(random.uniform(5, 25))
            flipped[name] = time.time()
            stack.set(name, 1)
        deadline = time.monotonic() + 600
        results: list[float] = []
        while len(results) < len(flipped) and time.monotonic() < deadline:
            results = [
                t - flipped[n]
                for n in flipped
                if (t := firing_since(stack.receiver, start, n)) is not None
            ]
            time.sleep(0.1)
        out[DEFAULTS] = results
    finally:
        stack.stop()


# -- report -----------------------------------------------------------------------------------


def report(figures: Figures, notes: list[str]) -> None:
    print("\nflip -> webhook (seconds)")
    print(f"  {'system':<48} {'n':>3} {'median':>9} {'p99':>9} {'min':>9}")
    for name, values in figures.items():
        if not values:
            print(f"  {name:<48} {'0':>3} {'-':>9}")
            continue
        print(
            f"  {name:<48} {len(values):>3} {statistics.median(values):>9.3f} "
            f"{percentile(values, 99):>9.3f} {min(values):>9.3f}"
        )
    for ours in (CHECKS_ON, CHECKS_OFF, ON_CHANGE):
        for peer in (TUNED, DEFAULTS):
            mine, theirs = figures.get(ours) or [], figures.get(peer) or []
            if not mine or not theirs:
                continue
            target = "  (target median < 0.5)" if ours == CHECKS_ON and peer == TUNED else ""
            print(
                f"  ratio {ours} / {peer}: median "
                f"{statistics.median(mine) / statistics.median(theirs):.3f}, p99 "
                f"{percentile(mine, 99) / percentile(theirs, 99):.3f}{target}"
            )
    for note in notes:
        print(f"  {note}")


def ingest(samples: int) -> None:
    from bench.ingest import measure_ingest

    result = measure_ingest(samples=samples)
    print("\ningest CPU seconds per million samples (bench/ingest.py, remote write)")
    for fig in (result.opsplane, result.prometheus):
        print(
            f"  {fig.name:<12} {fig.cpu_s_per_million:8.2f} CPU-s/M  "
            f"(p50 {fig.latency_p50_ms:.1f} ms, p99 {fig.latency_p99_ms:.1f} ms per request)"
        )
    print(f"  ratio opsplane/prometheus: {result.ratio:.2f} (target <= 1.00)")


async def run(args: argparse.Namespace, root: Path, notes: list[str]) -> Figures:
    figures: Figures = {}
    background: threading.Thread | None = None
    defaults: Figures = {}
    if args.default_flips:
        background = threading.Thread(
            target=bench_defaults, args=(root, args.default_flips, defaults), daemon=True
        )
        background.start()
    figures.update(await bench_opsplane(root, args.flips, notes))
    figures.update(await bench_tuned(root, args.flips))
    if background is not None:
        print("waiting for the defaults stack (minutes: 1 m scrape/eval, 30 s group_wait)...")
        await asyncio.to_thread(background.join)
        figures.update(defaults)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flips", type=int, default=30)
    parser.add_argument("--default-flips", type=int, default=5)
    parser.add_argument("--ingest-samples", type=int, default=2_000_000)
    parser.add_argument("--no-ingest", action="store_true")
    args = parser.parse_args()
    notes: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        figures = asyncio.run(run(args, Path(tmp), notes))
    report(figures, notes)
    if not args.no_ingest:
        ingest(args.ingest_samples)


if __name__ == "__main__":
    main()
