"""Figures the simulator reports: connection counts, timings, round-trip percentiles."""

from __future__ import annotations

import array
import asyncio
import collections
import math
import random
import time
from typing import Any


class Samples:
    """Bounded sample store (reservoir sampling past `cap`) with percentile summaries."""

    def __init__(self, cap: int = 1_000_000) -> None:
        self.cap = cap
        self.seen = 0
        self._values = array.array("d")

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self._values) < self.cap:
            self._values.append(value)
            return
        # Keep a uniform sample of everything seen, in constant memory.
        slot = random.randrange(self.seen)
        if slot < self.cap:
            self._values[slot] = value

    def summary(self, scale: float = 1000.0) -> dict[str, Any]:
        """count, p50, p90, p99, max (values multiplied by `scale`: seconds -> ms)."""
        values = sorted(self._values)
        if not values:
            return {"count": 0}
        return {
            "count": self.seen,
            "p50": round(_percentile(values, 0.50) * scale, 2),
            "p90": round(_percentile(values, 0.90) * scale, 2),
            "p99": round(_percentile(values, 0.99) * scale, 2),
            "max": round(values[-1] * scale, 2),
        }


def _percentile(sorted_values: list[float], q: float) -> float:
    # Nearest rank: a reported p99 is a latency some heartbeat really had.
    index = min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[index]


class FleetStats:
    """Counters shared by all simulated agents (one event loop: no locking needed)."""

    def __init__(self, agents: int) -> None:
        self.agents = agents
        self.started = time.monotonic()
        self.enrolled = 0
        self.connected = 0
        self.ever_connected = 0
        self.connects = 0
        self.refused = 0
        self.all_enrolled_s: float | None = None
        self.all_connected_s: float | None = None
        self.heartbeats_acked = 0
        self.batches_sent = 0
        self.batches_acked = 0
        self.points_sent = 0
        self.commands: collections.Counter[str] = collections.Counter()
        self.errors: collections.Counter[str] = collections.Counter()
        self.heartbeat_rtt = Samples()  # since start
        self.heartbeat_rtt_steady = Samples()  # since every agent was connected
        self.heartbeat_rtt_window = Samples()  # since the last report
        self.loop_lag_window = Samples()
        self.all_connected = asyncio.Event()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def on_enrolled(self) -> None:
        self.enrolled += 1
        if self.enrolled == self.agents and self.all_enrolled_s is None:
            self.all_enrolled_s = round(self.elapsed(), 3)

    def on_connected(self, first_time: bool) -> None:
        self.connected += 1
        self.connects += 1
        if first_time:
            self.ever_connected += 1
        if self.connected == self.agents and self.all_connected_s is None:
            self.all_connected_s = round(self.elapsed(), 3)
            self.all_connected.set()

    def on_disconnected(self) -> None:
        self.connected -= 1

    def on_heartbeat_ack(self, rtt: float) -> None:
        self.heartbeats_acked += 1
        self.heartbeat_rtt.add(rtt)
        self.heartbeat_rtt_window.add(rtt)
        if self.all_connected_s is not None:
            self.heartbeat_rtt_steady.add(rtt)

    def on_error(self, kind: str) -> None:
        self.errors[kind] += 1

    def summary(self, *, final: bool = False) -> dict[str, Any]:
        """One report; the window figures restart after each call."""
        report: dict[str, Any] = {
            "type": "simulator",
            "final": final,
            "elapsed_s": round(self.elapsed(), 3),
            "agents": self.agents,
            "enrolled": self.enrolled,
            "connected": self.connected,
            "ever_connected": self.ever_connected,
            "connects": self.connects,
            "refused": self.refused,
            "enroll_all_s": self.all_enrolled_s,
            "connect_all_s": self.all_connected_s,
            "heartbeats_acked": self.heartbeats_acked,
            "batches_sent": self.batches_sent,
            "batches_acked": self.batches_acked,
            "points_sent": self.points_sent,
            "commands": dict(self.commands),
            "errors": dict(self.errors.most_common(10)),
            "heartbeat_rtt_ms": self.heartbeat_rtt_window.summary(),
            "heartbeat_rtt_ms_steady": self.heartbeat_rtt_steady.summary(),
            "heartbeat_rtt_ms_all": self.heartbeat_rtt.summary(),
            "loop_lag_ms": self.loop_lag_window.summary(),
        }
        self.heartbeat_rtt_window = Samples()
        self.loop_lag_window = Samples()
        return report
