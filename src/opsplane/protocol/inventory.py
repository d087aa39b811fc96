"""What an agent tells the server about its host in `hello`."""

from __future__ import annotations

import msgspec


class Disk(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    device: str
    mountpoint: str
    fstype: str
    total_bytes: int


class Inventory(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    hostname: str
    os: str
    kernel: str
    arch: str
    cpu_model: str
    cpu_count: int
    memory_bytes: int
    swap_bytes: int = 0
    disks: tuple[Disk, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    boot_time: float = 0.0
    agent_version: str = ""
    python_version: str = ""
