"""Record-level robustness: truncation, segment boundaries, root kinds, Android tags."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from opsplane.heapdump import HeapDumpError, analyze
from opsplane.heapdump.records import read_top_level
from opsplane.heapdump.source import open_dump

from .conftest import ScenarioDump, fixture
from .hprof_builder import small_heap


def write(tmp_path: Path, data: bytes, name: str = "d.hprof") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("id_size", [4, 8])
def test_synthetic_dump_with_segments(tmp_path: Path, id_size: int) -> None:
    report = analyze(write(tmp_path, small_heap(id_size).build()))
    hist = {r["class"]: r for r in report.histogram}
    assert hist["Holder"]["instances"] == 1
    assert hist["byte[]"]["instances"] == 2
    assert hist["java.lang.Object[]"]["retained_bytes"] > 0
    assert report.summary["id_size"] == id_size
    assert report.warnings == []


def test_every_root_kind_is_read(tmp_path: Path) -> None:
    b = small_heap()
    i = b.id
    thread_cls = 0x60
    b.load_class(9, thread_cls, "java/lang/Thread")
    b.class_dump(thread_cls, 0x10, [])
    b.instance(0x400, thread_cls, b"")
    roots = [
        b"\xff" + i(0x300),  # unknown
        b"\x01" + i(0x308) + i(1),  # JNI global
        b"\x08" + i(0x400) + struct.pack(">II", 5, 0),  # thread object, serial 5
        b"\x02" + i(0x300) + struct.pack(">II", 5, 0),  # JNI local of thread 5
        b"\x03" + i(0x308) + struct.pack(">II", 5, 1),  # Java frame of thread 5
        b"\x04" + i(0x300) + struct.pack(">I", 5),  # native stack
        b"\x06" + i(0x308) + struct.pack(">I", 5),  # thread block
        b"\x07" + i(0x100),  # busy monitor
    ]
    for r in roots:
        b.raw_heap(r)
    report = analyze(write(tmp_path, b.build()))
    assert report.summary["gc_roots"] == 5  # Holder class, 0x300, 0x308, thread, 0x100
    assert report.threads[0]["locals"] == 1


def test_android_records_are_skipped_with_a_warning(tmp_path: Path) -> None:
    b = small_heap()
    b.raw_heap(b"\x89" + b.id(0x300))  # ROOT_INTERNED_STRING
    b.raw_heap(b"\xfe" + struct.pack(">I", 1) + b.id(0))  # HEAP_DUMP_INFO
    report = analyze(write(tmp_path, b.build()))
    assert any("Android" in w for w in report.warnings)
    assert report.summary["objects"] == 9


def test_cut_at_segment_boundary_is_analysed_with_warning(tmp_path: Path) -> None:
    b = small_heap()
    b.flush_segment()
    report = analyze(write(tmp_path, b.build(end=False)))
    assert any("cut off" in w for w in report.warnings)
    assert report.summary["objects"] == 9


def test_cut_inside_a_record_names_offset_and_tag(tmp_path: Path) -> None:
    data = small_heap().build()
    with pytest.raises(HeapDumpError, match=r"offset \d+, record tag 0x1c"):
        analyze(write(tmp_path, data[:-40]))


def test_bad_sub_record_tag(tmp_path: Path) -> None:
    b = small_heap()
    b.raw_heap(b"\x42" + b.id(1))
    with pytest.raises(HeapDumpError, match=r"unknown heap-dump sub-record tag.*tag 0x42"):
        analyze(write(tmp_path, b.build()))


@pytest.mark.parametrize("data", [b"", b"JAVA PROFILE 1.0.2\x00", b"GIF89a" + bytes(40)])
def test_not_a_dump(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(HeapDumpError):
        analyze(write(tmp_path, data))


def test_fixture_cut_mid_heap(tmp_path: Path) -> None:
    data = fixture("oracle_jdk8_05_x64.hprof").read_bytes()
    with pytest.raises(HeapDumpError, match="truncated"):
        analyze(write(tmp_path, data[: len(data) // 2]))


def test_real_dump_cut_after_a_segment(scenario_dump: ScenarioDump, tmp_path: Path) -> None:
    """A JDK dump cut right after one of its ~1 MiB HEAP_DUMP_SEGMENT records."""
    with open_dump(scenario_dump.path) as dump:
        seg_off, seg_len = read_top_level(dump).segments
        assert seg_off.shape[0] > 4
        cut = int(seg_off[2] + seg_len[2])
    data = scenario_dump.path.read_bytes()[:cut]
    report = analyze(write(tmp_path, data))
    assert any("cut off" in w for w in report.warnings)
    assert report.summary["objects"] > 0
