"""Load a dump into flat numpy arrays: objects, classes, sizes, roots and references.

Objects are indexed in file order. Nothing here holds one Python object per heap
object; per-object work runs in the numba kernels of ``_scan`` and ``_graph``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _graph, _objects, _scan
from opsplane.heapdump.classes import PRIM_ARRAY_NAMES, ClassTable, parse_classes
from opsplane.heapdump.errors import HeapDumpError
from opsplane.heapdump.records import TopLevel, read_top_level
from opsplane.heapdump.sizes import ELEMENT_SIZE, SizeModel, layout, object_alignment
from opsplane.heapdump.source import DumpFile, open_dump
from opsplane.heapdump.symbols import Symbols, load_class_names

Progress = Callable[[str, float], None]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
BATCH_BYTES = 64 << 20
# roots that HPROF ties to a thread: MAT turns them into references from the thread
THREAD_LOCAL_ROOTS = (0x02, 0x03, 0x04)
RawRoots = tuple[I64, npt.NDArray[np.uint8], I64, I64]
_ERRORS = {
    _scan.ERR_TRUNCATED: "heap-dump sub-record runs past the end of its segment",
    _scan.ERR_UNKNOWN_TAG: "unknown heap-dump sub-record tag",
    _scan.ERR_BAD_TYPE: "invalid basic type in heap-dump sub-record",
}


@dataclass
class Roots:
    """GC roots as HPROF records them (one row per root record)."""

    ids: I64
    obj: I32  # object index, -1 when the id is not in the dump (filled by the graph)
    kind: npt.NDArray[np.uint8]
    thread: I64  # thread serial or -1
    extra: I64  # frame number / stack-trace serial or -1


@dataclass
class Heap:
    """Everything the analyses need; arrays are indexed by object index."""

    dump: DumpFile
    top: TopLevel
    symbols: Symbols
    classes: ClassTable
    model: SizeModel
    obj_id: I64
    obj_off: I64
    obj_kind: npt.NDArray[np.uint8]
    obj_cls: I32  # class index (for class objects: the class itself)
    obj_len: I64
    shallow: I64
    roots: Roots
    class_serials: dict[int, int]
    warnings: list[str] = field(default_factory=list)
    offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    edges: I32 = field(default_factory=lambda: np.empty(0, np.int32))
    eflags: npt.NDArray[np.uint8] = field(default_factory=lambda: np.empty(0, np.uint8))
    root_objects: I32 = field(default_factory=lambda: np.empty(0, np.int32))
    batches: list[tuple[int, int, int, int]] = field(default_factory=list)
    _index: _graph.IdIndex | None = None

    @property
    def index(self) -> _graph.IdIndex:
        """id -> object index lookup, built on first use (a histogram does not need it)."""
        if self._index is None:
            self._index = _graph.IdIndex(self.obj_id)
        return self._index

    @property
    def n(self) -> int:
        return int(self.obj_id.shape[0])

    @property
    def id_size(self) -> int:
        return self.dump.id_size

    def type_of(self, obj: int) -> int:
        """Class index whose instances include ``obj`` (java.lang.Class for classes)."""
        if self.obj_kind[obj] == _scan.KIND_CLASS:
            return self.classes.find("java.lang.Class")
        return int(self.obj_cls[obj])

    def class_name(self, obj: int) -> str:
        ci = self.type_of(obj)
        return self.classes.infos[ci].name if ci >= 0 else "unknown"

    def close(self) -> None:
        self.dump.close()


def load(path: str | os.PathLike[str], progress: Progress | None = None) -> Heap:
    """Parse objects, classes and sizes (enough for a histogram)."""
    report = progress or (lambda _p, _f: None)
    dump = open_dump(path)
    try:
        heap = _load(dump, report)
    except BaseException:
        dump.close()
        raise
    return heap


def _load(dump: DumpFile, report: Progress) -> Heap:
    top = read_top_level(dump)
    symbols = Symbols(dump.buf, *top.of(_scan.TAG_STRING), dump.id_size)
    lc_off, lc_len = top.of(_scan.TAG_LOAD_CLASS)
    names, serials = load_class_names(
        dump.buf, lc_off[lc_len >= 8 + 2 * dump.id_size], dump.id_size, symbols
    )
    batches = _batches(top)
    obj, roots_raw, state = _scan_objects(dump, top.segments, batches, report)
    o_id, o_off, o_kind, o_cls, o_len = obj
    is_class = o_kind == _scan.KIND_CLASS
    classes = parse_classes(
        dump.buf, o_off[is_class], o_len[is_class], dump.id_size, symbols, names
    )
    warnings = list(top.warnings)
    if state[_scan.S_ANDROID]:
        warnings.append(f"skipped {state[_scan.S_ANDROID]} Android-only heap sub-records")
    ref_size = 4 if state[_scan.S_COMPRESSED] else dump.id_size
    model = SizeModel(dump.id_size, ref_size, object_alignment(o_id))
    cidx = _class_indices(classes, o_kind, o_cls, o_id, warnings)
    layout(classes, dump.id_size, model)
    shallow = _objects.shallow_sizes(
        o_kind,
        cidx,
        o_len,
        o_cls,
        classes.inst_size,
        classes.static_size,
        model.header,
        model.ref_size,
        model.align,
        ELEMENT_SIZE,
    )
    roots = Roots(roots_raw[0], np.empty(0, np.int32), *roots_raw[1:])
    return Heap(
        dump,
        top,
        symbols,
        classes,
        model,
        o_id,
        o_off,
        o_kind,
        cidx,
        o_len,
        shallow,
        roots,
        serials,
        warnings,
        batches=batches,
    )


def _batches(top: TopLevel) -> list[tuple[int, int, int, int]]:
    """Group heap-dump segments into runs of about BATCH_BYTES: (first, last+1, start, end)."""
    seg_off, seg_len = top.segments
    out: list[tuple[int, int, int, int]] = []
    first = 0
    for i in range(seg_off.shape[0]):
        if seg_off[i] + seg_len[i] - seg_off[first] >= BATCH_BYTES or i == seg_off.shape[0] - 1:
            out.append((first, i + 1, int(seg_off[first]), int(seg_off[i] + seg_len[i])))
            first = i + 1
    return out


def _scan_objects(
    dump: DumpFile,
    segments: tuple[I64, I64],
    batches: list[tuple[int, int, int, int]],
    report: Progress,
) -> tuple[tuple[I64, I64, npt.NDArray[np.uint8], I64, I64], RawRoots, I64]:
    """Per batch of segments: count, allocate, fill, then release its pages, so each
    page is faulted in once while it is still resident."""
    seg_off, seg_len = segments
    state = np.zeros(_scan.STATE_SLOTS, dtype=np.int64)
    total = max(batches[-1][3] if batches else 1, 1)
    objs: list[tuple[I64, I64, npt.NDArray[np.uint8], I64, I64]] = []
    roots: list[RawRoots] = []
    for a, b, start, end in batches:
        state[_scan.S_OBJECTS] = state[_scan.S_ROOTS] = 0
        counted = state.copy()
        args = (dump.buf, seg_off[a:b], seg_len[a:b], dump.id_size)
        _check(
            _scan.scan_heap(*args, counted, False, *_object_arrays(0), *_root_arrays(0)), counted
        )
        objs.append(_object_arrays(int(counted[_scan.S_OBJECTS])))
        roots.append(_root_arrays(int(counted[_scan.S_ROOTS])))
        _check(_scan.scan_heap(*args, state, True, *objs[-1], *roots[-1]), state)
        dump.release(start, end)
        report("parse", end / total)
    obj = tuple(
        np.concatenate([o[k] for o in objs]) if objs else _object_arrays(0)[k] for k in range(5)
    )
    raw = tuple(
        np.concatenate([r[k] for r in roots]) if roots else _root_arrays(0)[k] for k in range(4)
    )
    return obj, raw, state  # type: ignore[return-value]


def _object_arrays(n: int) -> tuple[I64, I64, npt.NDArray[np.uint8], I64, I64]:
    return (
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.uint8),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
    )


def _root_arrays(n: int) -> RawRoots:
    return (
        np.empty(n, np.int64),
        np.empty(n, np.uint8),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
    )


def _check(status: int, state: I64) -> None:
    if status < 0:
        code = int(state[_scan.S_ERROR])
        raise HeapDumpError(
            _ERRORS.get(code, "corrupt heap dump"),
            offset=int(state[_scan.S_ERR_OFFSET]),
            tag=int(state[_scan.S_ERR_TAG]),
        )


def _class_indices(
    classes: ClassTable, kind: npt.NDArray[np.uint8], cls: I64, ids: I64, warnings: list[str]
) -> I32:
    """Class index of every object, creating MAT-style placeholder classes for class ids
    that have no CLASS_DUMP and for primitive array types without one."""
    present = _objects.prim_types_present(kind, cls)
    prim_idx = np.full(12, -1, dtype=np.int32)
    for et in np.flatnonzero(present).tolist():
        prim_idx[et] = _prim_class(classes, et)
    known = np.array(sorted(classes.index), dtype=np.int64)
    known_idx = np.array([classes.index[c] for c in known.tolist()], dtype=np.int32)
    out: I32 = _objects.assign_classes(kind, cls, ids, known, known_idx, prim_idx)
    unmapped = out < 0
    if np.any(unmapped):
        # ids of classes that have no CLASS_DUMP: MAT-style placeholders (rare)
        cids, inverse = np.unique(cls[unmapped], return_inverse=True)
        fakes = [
            classes.add_fake(int(c), f"unknown-class@0x{int(c) & (2**64 - 1):x}")
            for c in cids.tolist()
        ]
        out[unmapped] = np.array(fakes, dtype=np.int32)[inverse]
        warnings.append(f"{len(fakes)} classes are referenced by objects but not dumped")
    return out


def _prim_class(classes: ClassTable, elem_type: int) -> int:
    name = PRIM_ARRAY_NAMES[elem_type]
    ci = classes.find(name)
    return ci if ci >= 0 else classes.add_fake(-1 - elem_type, name)
