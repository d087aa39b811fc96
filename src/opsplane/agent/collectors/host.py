"""Host metrics from psutil: CPU, load, memory, swap, filesystems, disk I/O, network, processes.

The source of figures is a parameter (`source=`) so tests can pass a fake host.
Metric names follow Prometheus conventions; the server adds the node labels itself.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import psutil

from opsplane.agent.collectors.base import Points, ratio
from opsplane.protocol.telemetry import MetricPoint

# Pseudo and read-only image filesystems say nothing about capacity (after node_exporter).
DEFAULT_IGNORED_FSTYPES = frozenset(
    {"autofs", "devtmpfs", "tmpfs", "squashfs", "iso9660", "nsfs", "overlay", "proc", "sysfs"}
)
DEFAULT_IGNORED_DEVICES = r"^(loop|ram|zram|fd)\d+$"
DEFAULT_IGNORED_INTERFACES = r"^(lo|veth.*)$"

# The metric names each section yields: a threshold check (`sample`) runs only the sections
# its watches read.
FAMILIES: dict[str, frozenset[str]] = {
    "cpu": frozenset({"host_cpu_utilization_ratio"}),
    "load": frozenset({"host_load1", "host_load5", "host_load15"}),
    "memory": frozenset(
        {
            "host_memory_total_bytes",
            "host_memory_available_bytes",
            "host_memory_used_bytes",
            "host_memory_utilization_ratio",
            "host_swap_total_bytes",
            "host_swap_used_bytes",
        }
    ),
    "filesystem": frozenset(
        {
            "host_filesystem_size_bytes",
            "host_filesystem_used_bytes",
            "host_filesystem_utilization_ratio",
        }
    ),
    "disk_io": frozenset(
        {
            "host_disk_read_bytes_total",
            "host_disk_written_bytes_total",
            "host_disk_reads_total",
            "host_disk_writes_total",
        }
    ),
    "network": frozenset(
        {
            "host_network_received_bytes_total",
            "host_network_transmitted_bytes_total",
            "host_network_received_packets_total",
            "host_network_transmitted_packets_total",
            "host_network_receive_errors_total",
            "host_network_transmit_errors_total",
        }
    ),
    "processes": frozenset({"host_processes", "host_uptime_seconds"}),
}
# CPU snapshots kept for sliding-window utilization between ticks (checks every 0.1 s over a
# 60 s interval fit).
_CPU_HISTORY = 600


class HostSource(Protocol):
    """Where host figures come from: psutil in production (`PsutilSource`), fakes in tests.

    Records are psutil's named tuples or anything with the same attributes.
    """

    def cpu_times(self) -> Sequence[Any]:
        """Total CPU times first, then one entry per CPU."""
        ...

    def getloadavg(self) -> tuple[float, float, float]: ...
    def virtual_memory(self) -> Any: ...
    def swap_memory(self) -> Any: ...
    def disk_partitions(self) -> Sequence[Any]: ...
    def disk_usage(self, path: str) -> Any: ...
    def disk_io_counters(self) -> Mapping[str, Any]: ...
    def net_io_counters(self) -> Mapping[str, Any]: ...
    def pids(self) -> Sequence[int]: ...
    def boot_time(self) -> float: ...


class PsutilSource:
    """The real host, through psutil."""

    def cpu_times(self) -> Sequence[Any]:
        return [psutil.cpu_times(percpu=False), *psutil.cpu_times(percpu=True)]

    def getloadavg(self) -> tuple[float, float, float]:
        return psutil.getloadavg()

    def virtual_memory(self) -> Any:
        return psutil.virtual_memory()

    def swap_memory(self) -> Any:
        return psutil.swap_memory()

    def disk_partitions(self) -> Sequence[Any]:
        return psutil.disk_partitions(all=False)

    def disk_usage(self, path: str) -> Any:
        return psutil.disk_usage(path)

    def disk_io_counters(self) -> Mapping[str, Any]:
        # None when the kernel exposes no disk stats (some containers).
        return psutil.disk_io_counters(perdisk=True) or {}

    def net_io_counters(self) -> Mapping[str, Any]:
        return psutil.net_io_counters(pernic=True) or {}

    def pids(self) -> Sequence[int]:
        return psutil.pids()

    def boot_time(self) -> float:
        return psutil.boot_time()


class HostCollector:
    """Collects host metrics; keeps the previous CPU times to turn them into utilization.

    Args:
        source: Where figures come from; the real host (psutil) by default.
        ignored_fstypes: Filesystem types left out of `host_filesystem_*`.
        ignored_devices: Regex of block devices left out of `host_disk_*`.
        ignored_interfaces: Regex of interfaces left out of `host_network_*`.
    """

    name = "host"

    def __init__(
        self,
        source: HostSource | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        ignored_fstypes: frozenset[str] = DEFAULT_IGNORED_FSTYPES,
        ignored_devices: str = DEFAULT_IGNORED_DEVICES,
        ignored_interfaces: str = DEFAULT_IGNORED_INTERFACES,
    ) -> None:
        self.source = source or PsutilSource()
        self.ignored_fstypes = ignored_fstypes
        self.ignored_devices = re.compile(ignored_devices)
        self.ignored_interfaces = re.compile(ignored_interfaces)
        self._problems: list[str] = []
        # CPU utilization is a rate: the first tick only records where the counters stand.
        self._cpu_before: Sequence[Any] | None = None
        # Between ticks (threshold checks), utilization is over a window as long as the
        # last tick's, sliding: (monotonic time, CPU times) of recent ticks and checks.
        self.monotonic = monotonic
        self._cpu_window = 0.0
        self._cpu_tick_at = 0.0
        self._cpu_seen: deque[tuple[float, Sequence[Any]]] = deque(maxlen=_CPU_HISTORY)
        self._sections: list[tuple[str, Callable[[Points], None]]] = [
            ("cpu", self._cpu),
            ("load", self._load),
            ("memory", self._memory),
            ("filesystem", self._filesystems),
            ("disk_io", self._disk_io),
            ("network", self._network),
            ("processes", self._processes),
        ]

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        points = Points(ts_ms)
        self._problems = self._fill(points, self._sections)
        return points.items

    def sample(self, names: frozenset[str], ts_ms: int) -> list[MetricPoint]:
        """The points of the sections that yield any of `names`, between ticks."""
        points = Points(ts_ms)
        wanted = [(s, f) for s, f in self._sections if FAMILIES[s] & names]
        if any(section == "cpu" for section, _ in wanted):
            wanted = [(s, f) if s != "cpu" else (s, self._cpu_sliding) for s, f in wanted]
        self._fill(points, wanted)  # problems are the ticks' to report
        return [p for p in points.items if p.name in names]

    @staticmethod
    def _fill(
        points: Points, sections: Sequence[tuple[str, Callable[[Points], None]]]
    ) -> list[str]:
        problems = []
        for section, fill in sections:
            # One broken source (no permission, missing /proc file) must not cost the others.
            try:
                fill(points)
            except Exception as exc:
                problems.append(f"host collector {section}: {type(exc).__name__}: {exc}")
        return problems

    def problems(self) -> list[str]:
        return list(self._problems)

    def _cpu(self, points: Points) -> None:
        now = self.source.cpu_times()
        at = self.monotonic()
        if self._cpu_before is not None:
            self._cpu_window = at - self._cpu_tick_at
        self._cpu_tick_at = at
        self._cpu_seen.append((at, now))
        before, self._cpu_before = self._cpu_before, now
        self._cpu_points(points, before, now)

    def _cpu_sliding(self, points: Points) -> None:
        """Utilization over the last tick-length window ending now (nothing before 2 ticks;
        over the oldest snapshot kept when the window is longer than the history)."""
        now = self.source.cpu_times()
        at = self.monotonic()
        before = None
        if self._cpu_window > 0 and self._cpu_seen:
            before = self._cpu_seen[0][1]
            for seen_at, times in self._cpu_seen:  # oldest first
                if at - seen_at < self._cpu_window:
                    break
                before = times
        self._cpu_seen.append((at, now))
        self._cpu_points(points, before, now)

    def _cpu_points(self, points: Points, before: Sequence[Any] | None, now: Sequence[Any]) -> None:
        if before is None or len(before) != len(now):
            return  # first tick, or CPUs were hot-plugged: no rate yet
        for index, (old, new) in enumerate(zip(before, now, strict=True)):
            busy_old, total_old = _busy_and_total(old)
            busy_new, total_new = _busy_and_total(new)
            cpu = "total" if index == 0 else str(index - 1)
            value = ratio(busy_new - busy_old, total_new - total_old)
            points.add("host_cpu_utilization_ratio", value, {"cpu": cpu})

    def _load(self, points: Points) -> None:
        load1, load5, load15 = self.source.getloadavg()
        points.add("host_load1", load1)
        points.add("host_load5", load5)
        points.add("host_load15", load15)

    def _memory(self, points: Points) -> None:
        memory = self.source.virtual_memory()
        # "used" is what is not available: psutil's own `used` leaves out reclaimable cache
        # in a platform-specific way, and used / total should equal the ratio.
        used = memory.total - memory.available
        points.add("host_memory_total_bytes", memory.total)
        points.add("host_memory_available_bytes", memory.available)
        points.add("host_memory_used_bytes", used)
        points.add("host_memory_utilization_ratio", ratio(used, memory.total))
        swap = self.source.swap_memory()
        points.add("host_swap_total_bytes", swap.total)
        points.add("host_swap_used_bytes", swap.used)

    def _filesystems(self, points: Points) -> None:
        seen: set[str] = set()
        for part in self.source.disk_partitions():
            if part.fstype in self.ignored_fstypes or part.mountpoint in seen:
                continue
            seen.add(part.mountpoint)
            try:
                usage = self.source.disk_usage(part.mountpoint)
            except OSError:
                continue  # unmounted meanwhile, or not ours to read: not a host problem
            labels = {"mountpoint": part.mountpoint, "device": part.device, "fstype": part.fstype}
            points.add("host_filesystem_size_bytes", usage.total, labels)
            points.add("host_filesystem_used_bytes", usage.used, labels)
            # Like df: the root-reserved blocks count as neither used nor free.
            points.add(
                "host_filesystem_utilization_ratio",
                ratio(usage.used, usage.used + usage.free),
                labels,
            )

    def _disk_io(self, points: Points) -> None:
        counters = self.source.disk_io_counters()
        for device, io in sorted(counters.items()):
            if self.ignored_devices.match(device):
                continue
            labels = {"device": device}
            points.add("host_disk_read_bytes_total", io.read_bytes, labels)
            points.add("host_disk_written_bytes_total", io.write_bytes, labels)
            points.add("host_disk_reads_total", io.read_count, labels)
            points.add("host_disk_writes_total", io.write_count, labels)

    def _network(self, points: Points) -> None:
        counters = self.source.net_io_counters()
        for interface, io in sorted(counters.items()):
            if self.ignored_interfaces.match(interface):
                continue
            labels = {"interface": interface}
            points.add("host_network_received_bytes_total", io.bytes_recv, labels)
            points.add("host_network_transmitted_bytes_total", io.bytes_sent, labels)
            points.add("host_network_received_packets_total", io.packets_recv, labels)
            points.add("host_network_transmitted_packets_total", io.packets_sent, labels)
            points.add("host_network_receive_errors_total", io.errin, labels)
            points.add("host_network_transmit_errors_total", io.errout, labels)

    def _processes(self, points: Points) -> None:
        points.add("host_processes", len(self.source.pids()))
        points.add("host_uptime_seconds", max(0.0, points.ts_ms / 1000 - self.source.boot_time()))


def _busy_and_total(times: Any) -> tuple[float, float]:
    # Same accounting as psutil.cpu_percent: guest time is already inside user/nice, and
    # iowait is idle time (the CPU could have run something else).
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total
