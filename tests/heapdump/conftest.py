"""Shared fixtures: MAT's fixture dumps and a real JVM running tests/heapdump/java."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[2] / ".." / "shared" / "fixtures" / "hprof"
JAVA_SRC = Path(__file__).parent / "java"


def fixture(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"missing fixture {path}") if os.environ.get("CI") == "true" else pytest.skip(
            f"fixture {path} not present"
        )
    return path


def require_jdk() -> None:
    """Skip without a JDK, except in CI where its absence is a failure."""
    missing = [t for t in ("java", "javac", "jcmd", "jmap") if shutil.which(t) is None]
    if missing:
        reason = f"JDK tools missing: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@dataclass
class RunningJvm:
    pid: int
    proc: subprocess.Popen[str]

    def jcmd(self, *args: str) -> str:
        return subprocess.run(
            ["jcmd", str(self.pid), *args], check=True, capture_output=True, text=True, timeout=120
        ).stdout

    def histo(self) -> dict[str, int]:
        """``jmap -histo:live`` as class name (JVM notation) -> instances, summed by name."""
        out = subprocess.run(
            ["jmap", "-histo:live", str(self.pid)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        counts: dict[str, int] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 4 and parts[0].endswith(":"):
                counts[parts[3]] = counts.get(parts[3], 0) + int(parts[1])
        return counts

    def dump(self, path: Path, *options: str) -> Path:
        self.jcmd("GC.heap_dump", *options, str(path))
        return path


def start_jvm(tmp: Path, main: str, *args: str, heap: str = "256m") -> RunningJvm:
    """Compile ``java/<main>.java`` into ``tmp`` and run it until it prints READY."""
    require_jdk()
    subprocess.run(
        ["javac", "-d", str(tmp), str(JAVA_SRC / f"{main}.java")], check=True, timeout=120
    )
    proc = subprocess.Popen(
        ["java", f"-Xmx{heap}", "-XX:+UseSerialGC", "-cp", str(tmp), main, *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # pytest-timeout bounds a JVM that never answers
    if line.strip() != "READY":
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        pytest.fail(f"{main} did not start: {line!r}")
    return RunningJvm(proc.pid, proc)


@pytest.fixture(scope="session")
def scenarios_jvm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningJvm]:
    jvm = start_jvm(tmp_path_factory.mktemp("scenarios"), "Scenarios", "200000")
    try:
        yield jvm
    finally:
        jvm.proc.kill()
        jvm.proc.wait(timeout=30)
        if jvm.proc.stdout is not None:
            jvm.proc.stdout.close()


@dataclass
class ScenarioDump:
    path: Path
    histo_before: dict[str, int]
    histo_after: dict[str, int]


@pytest.fixture(scope="session")
def scenario_dump(
    scenarios_jvm: RunningJvm, tmp_path_factory: pytest.TempPathFactory
) -> ScenarioDump:
    """A live dump bracketed by two jmap histograms.

    The first attach starts the JVM's attach listener and allocates JDK objects, so it
    is done (VM.version) before anything is measured.
    """
    scenarios_jvm.jcmd("VM.version")
    before = scenarios_jvm.histo()
    path = scenarios_jvm.dump(tmp_path_factory.mktemp("dump") / "scenarios.hprof")
    after = scenarios_jvm.histo()
    return ScenarioDump(path, before, after)
