from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from opsplane.agent.collectors.host import HostCollector
from opsplane.protocol.telemetry import MetricPoint

CpuTimes = namedtuple("CpuTimes", "user nice system idle iowait irq softirq steal guest guest_nice")
Memory = namedtuple("Memory", "total available used free")
Swap = namedtuple("Swap", "total used free")
Partition = namedtuple("Partition", "device mountpoint fstype opts")
Usage = namedtuple("Usage", "total used free percent")
DiskIO = namedtuple("DiskIO", "read_count write_count read_bytes write_bytes")
NetIO = namedtuple(
    "NetIO", "bytes_sent bytes_recv packets_sent packets_recv errin errout dropin dropout"
)


def cpu(busy: float, idle: float, iowait: float = 0.0) -> CpuTimes:
    return CpuTimes(busy, 0.0, 0.0, idle, iowait, 0.0, 0.0, 0.0, 0.0, 0.0)


class FakeHost:
    """A host whose figures the test sets; same interface as PsutilSource."""

    def __init__(self) -> None:
        self.cpus = [cpu(0, 0), cpu(0, 0), cpu(0, 0)]
        self.broken: set[str] = set()

    def _maybe_fail(self, name: str) -> None:
        if name in self.broken:
            raise PermissionError(f"{name} not readable")

    def cpu_times(self) -> Sequence[Any]:
        self._maybe_fail("cpu")
        return list(self.cpus)

    def getloadavg(self) -> tuple[float, float, float]:
        return (1.5, 1.0, 0.5)

    def virtual_memory(self) -> Any:
        return Memory(total=1000, available=250, used=600, free=100)

    def swap_memory(self) -> Any:
        return Swap(total=200, used=50, free=150)

    def disk_partitions(self) -> Sequence[Any]:
        return [
            Partition("/dev/sda1", "/", "ext4", "rw"),
            Partition("/dev/sda1", "/", "ext4", "rw"),  # bind mount: reported once
            Partition("tmpfs", "/run", "tmpfs", "rw"),
            Partition("/dev/sdb1", "/gone", "xfs", "rw"),
        ]

    def disk_usage(self, path: str) -> Any:
        if path == "/gone":
            raise FileNotFoundError(path)
        return Usage(total=100, used=40, free=50, percent=44.4)

    def disk_io_counters(self) -> Mapping[str, Any]:
        self._maybe_fail("disk_io")
        return {"sda": DiskIO(1, 2, 3, 4), "loop0": DiskIO(0, 0, 0, 0)}

    def net_io_counters(self) -> Mapping[str, Any]:
        return {"eth0": NetIO(10, 20, 1, 2, 3, 4, 0, 0), "lo": NetIO(1, 1, 1, 1, 0, 0, 0, 0)}

    def pids(self) -> Sequence[int]:
        return [1, 2, 3]

    def boot_time(self) -> float:
        return 1000.0


def by_key(points: list[MetricPoint]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(p.name, tuple(sorted(p.labels.items()))): p.value for p in points}


def test_fake_host_values() -> None:
    host = FakeHost()
    collector = HostCollector(host)
    first = collector.collect(2_000_000)
    assert not [p for p in first if p.name == "host_cpu_utilization_ratio"]  # no rate yet

    host.cpus = [cpu(30, 60, iowait=10), cpu(10, 40), cpu(20, 30, iowait=10)]
    values = by_key(collector.collect(2_010_000))
    assert values[("host_cpu_utilization_ratio", (("cpu", "total"),))] == pytest.approx(0.3)
    assert values[("host_cpu_utilization_ratio", (("cpu", "0"),))] == pytest.approx(0.2)
    assert values[("host_cpu_utilization_ratio", (("cpu", "1"),))] == pytest.approx(1 / 3)
    assert values[("host_load1", ())] == 1.5
    assert values[("host_memory_used_bytes", ())] == 750  # total - available
    assert values[("host_memory_utilization_ratio", ())] == 0.75
    assert values[("host_swap_used_bytes", ())] == 50
    fs = (("device", "/dev/sda1"), ("fstype", "ext4"), ("mountpoint", "/"))
    assert values[("host_filesystem_size_bytes", fs)] == 100
    assert values[("host_filesystem_utilization_ratio", fs)] == pytest.approx(40 / 90)
    assert values[("host_disk_written_bytes_total", (("device", "sda"),))] == 4
    assert values[("host_network_received_bytes_total", (("interface", "eth0"),))] == 20
    assert values[("host_network_transmit_errors_total", (("interface", "eth0"),))] == 4
    assert values[("host_processes", ())] == 3
    assert values[("host_uptime_seconds", ())] == 2_010 - 1000
    # Filters: tmpfs, loop devices, loopback interface; the vanished mount is skipped.
    labels = {v for key in values for v in dict(key[1]).values()}
    assert not labels & {"/run", "loop0", "lo", "/gone"}
    assert collector.problems() == []


def test_each_tick_shares_one_timestamp() -> None:
    points = HostCollector(FakeHost()).collect(1234)
    assert points
    assert {p.ts_ms for p in points} == {1234}


def test_a_broken_section_is_a_problem_not_a_failure() -> None:
    host = FakeHost()
    host.broken = {"disk_io"}
    collector = HostCollector(host)
    names = {p.name for p in collector.collect(0)}
    assert "host_disk_reads_total" not in names
    assert "host_memory_total_bytes" in names
    assert collector.problems() == ["host collector disk_io: PermissionError: disk_io not readable"]
    host.broken = set()
    collector.collect(1)
    assert collector.problems() == []


def test_cpu_counters_going_backwards_stay_within_ratio_bounds() -> None:
    host = FakeHost()
    host.cpus = [cpu(100, 100)] * 3
    collector = HostCollector(host)
    collector.collect(0)
    host.cpus = [cpu(99, 300)] * 3
    ratios = [p.value for p in collector.collect(1) if p.name == "host_cpu_utilization_ratio"]
    assert ratios
    assert all(0.0 <= r <= 1.0 for r in ratios)


def test_real_psutil() -> None:
    collector = HostCollector()
    collector.collect(0)
    time.sleep(0.05)
    ts = int(time.time() * 1000)
    points = collector.collect(ts)
    names = {p.name for p in points}
    assert {
        "host_cpu_utilization_ratio",
        "host_load1",
        "host_load5",
        "host_load15",
        "host_memory_total_bytes",
        "host_memory_available_bytes",
        "host_memory_used_bytes",
        "host_memory_utilization_ratio",
        "host_swap_total_bytes",
        "host_swap_used_bytes",
        "host_processes",
        "host_uptime_seconds",
    } <= names
    cpus = {p.labels["cpu"] for p in points if p.name == "host_cpu_utilization_ratio"}
    assert "total" in cpus
    assert "0" in cpus
    for point in points:
        assert point.ts_ms == ts
        if point.name.endswith("_ratio"):
            assert 0.0 <= point.value <= 1.0, point
    assert collector.problems() == []
