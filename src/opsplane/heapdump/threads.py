"""Thread overview: Thread objects, what they retain and their stack traces."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from opsplane.heapdump import _scan
from opsplane.heapdump.dominators import DominatorTree
from opsplane.heapdump.heap import Heap
from opsplane.heapdump.objects import ref_field, string_value
from opsplane.heapdump.suspects import describe

THREAD_OBJECT_ROOT = 0x08
JAVA_FRAME_ROOT = 0x03
LINE_NOTES = {-1: "Unknown Source", -2: "Compiled Code", -3: "Native Method"}


def threads_report(heap: Heap, tree: DominatorTree | None) -> list[dict[str, Any]]:
    r = heap.roots
    traces = _stack_traces(heap)
    out: list[dict[str, Any]] = []
    kinds = r.kind
    for obj, serial, trace in _thread_roots(heap):
        row = (
            describe(heap, tree, obj)
            if tree is not None
            else {
                "object_id": f"0x{int(heap.obj_id[obj]) & (2**64 - 1):x}",
                "class": heap.class_name(obj),
                "shallow_bytes": int(heap.shallow[obj]),
            }
        )
        row["name"] = _thread_name(heap, obj)
        row["locals"] = int(np.count_nonzero((kinds == JAVA_FRAME_ROOT) & (r.thread == serial)))
        row["frames"] = traces.get(trace, [])
        out.append(row)
    out.sort(key=lambda t: -int(t.get("retained_bytes") or t["shallow_bytes"]))
    return out


def _thread_roots(heap: Heap) -> list[tuple[int, int, int]]:
    r = heap.roots
    sel = (r.kind == THREAD_OBJECT_ROOT) & (r.obj >= 0)
    return list(
        zip(r.obj[sel].tolist(), r.thread[sel].tolist(), r.extra[sel].tolist(), strict=True)
    )


def _thread_name(heap: Heap, obj: int) -> str:
    ci = int(heap.obj_cls[obj])
    if heap.obj_kind[obj] != _scan.KIND_INSTANCE:
        return ""
    name = ref_field(heap, np.array([obj], dtype=np.int32), ci, "name")
    if name is None or name[0] < 0:
        return ""
    return string_value(heap, int(name[0])) or ""


def _stack_traces(heap: Heap) -> dict[int, list[str]]:
    """Stack-trace serial -> frames as ``at pkg.Class.method(File.java:12)``."""
    ids = heap.id_size
    idc = "I" if ids == 4 else "Q"
    buf = heap.dump.buf
    frames: dict[int, str] = {}
    offs, lens = heap.top.of(_scan.TAG_FRAME)
    names = _class_names_by_serial(heap)
    for off, n in zip(offs.tolist(), lens.tolist(), strict=True):
        if n < 4 * ids + 8:
            continue
        fid, method, _sig, source, cser, line = struct.unpack(
            f">{idc * 4}Ii", bytes(buf[off : off + 4 * ids + 8])
        )
        where = LINE_NOTES.get(line) or f"{heap.symbols.get(source, '?')}:{line}"
        frames[fid] = f"at {names.get(cser, '?')}.{heap.symbols.get(method, '?')}({where})"
    traces: dict[int, list[str]] = {}
    offs, lens = heap.top.of(_scan.TAG_TRACE)
    for off, n in zip(offs.tolist(), lens.tolist(), strict=True):
        if n < 12:
            continue
        serial, _thread, count = struct.unpack(">III", bytes(buf[off : off + 12]))
        count = min(count, (n - 12) // ids)
        raw = bytes(buf[off + 12 : off + 12 + count * ids])
        fids = struct.unpack(f">{count}{idc}", raw)
        traces[serial] = [frames.get(f, "at ?") for f in fids]
    return traces


def _class_names_by_serial(heap: Heap) -> dict[int, str]:
    out = {}
    for serial, cid in heap.class_serials.items():
        ci = heap.classes.index.get(cid, -1)
        out[serial] = heap.classes.infos[ci].name if ci >= 0 else f"0x{cid:x}"
    return out
