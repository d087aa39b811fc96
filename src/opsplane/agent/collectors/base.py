"""What every collector looks like, and a small builder for the points of one tick."""

from __future__ import annotations

from typing import Protocol

from opsplane.protocol.telemetry import MetricPoint


class Collector(Protocol):
    """Turns one source into metric points; called off the event loop, one tick at a time."""

    name: str

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        """All points of one tick, stamped `ts_ms`; failing parts are left out."""
        ...

    def problems(self) -> list[str]:
        """What went wrong in the last `collect` (shown in the heartbeat); empty when fine."""
        ...


class Points:
    """Accumulates the points of one tick, all with the same timestamp."""

    def __init__(self, ts_ms: int) -> None:
        self.ts_ms = ts_ms
        self.items: list[MetricPoint] = []

    def add(self, name: str, value: float, labels: dict[str, str] | None = None) -> None:
        self.items.append(MetricPoint(name, labels or {}, self.ts_ms, float(value)))


def ratio(part: float, whole: float) -> float:
    """part / whole clamped to 0..1 (0 when whole is 0): counters can jitter past the total."""
    if whole <= 0:
        return 0.0
    return min(1.0, max(0.0, part / whole))
