"""MAT's size model, checked the way MAT's TestInstanceSizes checks it."""

from __future__ import annotations

import numpy as np

from opsplane.heapdump import _scan
from opsplane.heapdump.heap import load
from opsplane.heapdump.sizes import SizeModel, object_alignment
from opsplane.heapdump.symbols import java_name

from .conftest import fixture


def jvm_histogram() -> list[tuple[str, int, int]]:
    rows = []
    for line in fixture("histogram_sun_jdk6_18_x64.txt").read_text().splitlines():
        parts = line.split()
        if parts and parts[0].endswith(":"):
            parts = parts[1:]
        rows.append((java_name(parts[2]), int(parts[0]), int(parts[1])))
    return rows


def test_instance_sizes_match_the_jvm_histogram() -> None:
    """Instance size of every Java class equals shallow/instances of jmap's histogram;
    array classes are compared in total where the instance counts agree (as MAT does:
    ``<...Klass>`` rows and java.lang.Class are JVM internals with no fixed size)."""
    heap = load(fixture("sun_jdk6_18_x64.hprof"))
    try:
        errors, checked = [], 0
        for name, count, shallow in jvm_histogram():
            if name.startswith("<") or name == "java.lang.Class":
                continue
            ci = heap.classes.find(name)
            if ci < 0:
                continue
            if name.endswith("[]"):
                sel = (heap.obj_cls == ci) & (heap.obj_kind != _scan.KIND_CLASS)
                if int(sel.sum()) == count and int(heap.shallow[sel].sum()) != shallow:
                    errors.append((name, int(heap.shallow[sel].sum()), shallow))
                continue
            checked += 1
            if heap.classes.inst_size[ci] != shallow // count:
                errors.append((name, int(heap.classes.inst_size[ci]), shallow // count))
        assert errors == []
        assert checked > 100
    finally:
        heap.close()


def test_model_inferred_from_dumps() -> None:
    expected = {
        "sun_jdk6_32bit.hprof": SizeModel(4, 4, 8),
        "sun_jdk6_18_x64.hprof": SizeModel(8, 8, 8),
        "oracle_jdk8_05_x64.hprof": SizeModel(8, 4, 8),  # compressed oops
    }
    for name, model in expected.items():
        heap = load(fixture(name))
        assert heap.model == model, name
        heap.close()


def test_array_sizes() -> None:
    compressed = SizeModel(8, 4, 8)
    lengths = np.array([0, 1, 3, 4], dtype=np.int64)
    assert compressed.obj_arrays(lengths).tolist() == [16, 24, 32, 32]
    assert compressed.prim_arrays(lengths, np.full(4, 8)).tolist() == [16, 24, 24, 24]
    plain = SizeModel(8, 8, 8)
    assert plain.obj_arrays(lengths).tolist() == [24, 32, 48, 56]
    assert plain.prim_arrays(lengths, np.full(4, 10)).tolist() == [24, 32, 40, 40]


def test_alignment_is_gcd_of_address_gaps() -> None:
    assert object_alignment(np.array([0, 16, 48, 80, 112], dtype=np.int64)) == 32
    assert object_alignment(np.array([8, 12], dtype=np.int64)) == 8


def test_per_object_sizes_follow_the_model() -> None:
    """The one-pass numba kernel gives what SizeModel's formulas give."""
    for name in ("sun_jdk6_32bit.hprof", "oracle_jdk8_05_x64.hprof"):
        heap = load(fixture(name))
        kind, length = heap.obj_kind, heap.obj_len
        arr = kind == _scan.KIND_OBJ_ARRAY
        assert np.array_equal(heap.shallow[arr], heap.model.obj_arrays(length[arr]))
        prim = np.flatnonzero(kind == _scan.KIND_PRIM_ARRAY)
        elem = heap.dump.buf[heap.obj_off[prim] + 1 + heap.id_size + 8].astype(np.int64)
        assert np.array_equal(heap.shallow[prim], heap.model.prim_arrays(length[prim], elem))
        inst = kind == _scan.KIND_INSTANCE
        assert np.array_equal(heap.shallow[inst], heap.classes.inst_size[heap.obj_cls[inst]])
        heap.close()
