"""Opening dumps: gzip (single and multi-member, as jcmd -gz writes) and headers."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from opsplane.heapdump import HeapDumpError, analyze
from opsplane.heapdump.source import open_dump

from .conftest import RunningJvm, fixture


def test_gzip_gives_the_same_report(tmp_path: Path) -> None:
    plain = fixture("sun_jdk6_32bit.hprof")
    data = plain.read_bytes()
    packed = tmp_path / "d.hprof.gz"
    half = len(data) // 2
    packed.write_bytes(gzip.compress(data[:half], 1) + gzip.compress(data[half:], 1))
    a, b = analyze(plain).to_dict(), analyze(packed).to_dict()
    a["summary"].pop("file_bytes")
    b["summary"].pop("file_bytes")
    assert a == b


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(fixture("sun_jdk6_32bit.hprof").read_bytes(), 1)
    bad = tmp_path / "bad.gz"
    bad.write_bytes(data[:1000] + bytes(200) + data[1200:])
    with pytest.raises(HeapDumpError, match="gzip"):
        analyze(bad)


def test_header(tmp_path: Path) -> None:
    with open_dump(fixture("sun_jdk6_32bit.hprof")) as dump:
        assert (dump.id_size, dump.version, dump.records_start) == (4, "1.0.1", 31)
    with pytest.raises(HeapDumpError, match="cannot read"):
        open_dump(tmp_path / "missing.hprof")


def test_jcmd_gzip_dump(scenarios_jvm: RunningJvm, tmp_path: Path) -> None:
    path = scenarios_jvm.dump(tmp_path / "s.hprof.gz", "-gz=1")
    report = analyze(path, histogram_only=True)
    counts = {r["class"]: r["instances"] for r in report.histogram}
    assert counts["Scenarios$Link"] == 200_000
    assert counts["Scenarios$Node"] == 8
    assert all(r["retained_bytes"] is None for r in report.histogram)
