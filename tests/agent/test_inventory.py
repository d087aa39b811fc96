from __future__ import annotations

from pathlib import Path

from opsplane import __version__
from opsplane.agent.inventory import collect_inventory, cpu_model, os_pretty_name


def test_os_pretty_name(tmp_path: Path) -> None:
    release = tmp_path / "os-release"
    release.write_text('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')
    assert os_pretty_name(release) == "Debian GNU/Linux 12 (bookworm)"
    assert os_pretty_name(tmp_path / "missing") is None


def test_cpu_model_x86_and_arm(tmp_path: Path) -> None:
    x86 = tmp_path / "x86"
    x86.write_text("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) @ 2.50GHz\n")
    assert cpu_model(x86) == "Intel(R) Xeon(R) @ 2.50GHz"
    arm = tmp_path / "arm"
    arm.write_text("processor\t: 0\nBogoMIPS\t: 108.00\n\nModel\t\t: Raspberry Pi 4 Model B\n")
    assert cpu_model(arm) == "Raspberry Pi 4 Model B"


def test_real_host_inventory() -> None:
    inventory = collect_inventory()
    assert inventory.hostname
    assert inventory.cpu_count >= 1
    assert inventory.memory_bytes > 0
    assert inventory.boot_time > 0
    assert inventory.agent_version == __version__
    assert all(disk.total_bytes > 0 for disk in inventory.disks)
    assert "127.0.0.1" not in inventory.ip_addresses
