"""The host inventory sent in `hello`: who this host is and what it has."""

from __future__ import annotations

import ipaddress
import platform
import socket
from pathlib import Path

import psutil

from opsplane import __version__
from opsplane.protocol.inventory import Disk, Inventory

OS_RELEASE = Path("/etc/os-release")
CPUINFO = Path("/proc/cpuinfo")


def collect_inventory(*, os_release: Path = OS_RELEASE, cpuinfo: Path = CPUINFO) -> Inventory:
    """Blocking (reads /proc, walks mounts): call it in a thread from async code."""
    uname = platform.uname()
    return Inventory(
        hostname=socket.gethostname(),
        os=os_pretty_name(os_release) or f"{uname.system} {uname.release}",
        kernel=uname.release,
        arch=uname.machine,
        cpu_model=cpu_model(cpuinfo) or uname.processor or uname.machine,
        cpu_count=psutil.cpu_count(logical=True) or 1,
        memory_bytes=psutil.virtual_memory().total,
        swap_bytes=psutil.swap_memory().total,
        disks=tuple(_disks()),
        ip_addresses=tuple(_ip_addresses()),
        boot_time=psutil.boot_time(),
        agent_version=__version__,
        python_version=platform.python_version(),
    )


def os_pretty_name(os_release: Path) -> str | None:
    """PRETTY_NAME from os-release ("Debian GNU/Linux 12 (bookworm)"), if there is one."""
    try:
        lines = os_release.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            return value.strip().strip("\"'") or None
    return None


def cpu_model(cpuinfo: Path) -> str | None:
    """The first "model name" in /proc/cpuinfo (x86) or "Model"/"Hardware" (ARM boards)."""
    try:
        lines = cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for wanted in ("model name", "Model", "Hardware"):
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip() == wanted and value.strip():
                return value.strip()
    return None


def _disks() -> list[Disk]:
    seen: set[str] = set()
    disks = []
    for part in psutil.disk_partitions(all=False):
        if part.mountpoint in seen:
            continue
        seen.add(part.mountpoint)
        try:
            total = psutil.disk_usage(part.mountpoint).total
        except OSError:
            continue
        disks.append(Disk(part.device, part.mountpoint, part.fstype, total))
    return disks


def _ip_addresses() -> list[str]:
    """Every non-loopback, non-link-local address; the server shows them to operators."""
    found: list[str] = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(address.address.split("%", 1)[0])
            except ValueError:
                continue
            if not (ip.is_loopback or ip.is_link_local) and str(ip) not in found:
                found.append(str(ip))
    return found
