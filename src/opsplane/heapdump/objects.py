"""Read fields, strings and arrays of individual objects or object sets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _fields, _scan
from opsplane.heapdump.classes import T_OBJECT
from opsplane.heapdump.heap import Heap

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
WIDTH = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}


def instances_of(heap: Heap, ci: int) -> I32:
    """Instance objects whose class is exactly ``ci``."""
    sel = (heap.obj_cls == ci) & (heap.obj_kind == _scan.KIND_INSTANCE)
    return np.flatnonzero(sel).astype(np.int32)


CHUNK_BYTES = 64 << 20


def in_file_order(
    heap: Heap, objs: I32, read: Callable[[npt.NDArray[np.intp]], npt.NDArray[Any]]
) -> npt.NDArray[Any] | None:
    """Call ``read(positions)`` (one value per position in ``objs``) in file order,
    chunk by chunk,
    releasing each chunk's pages afterwards: scattered reads would otherwise fault the
    whole file into our resident set."""
    if objs.shape[0] == 0:
        return read(np.arange(0))
    offs = heap.obj_off[np.maximum(objs, 0)]
    order = np.argsort(offs, kind="stable")
    cuts = np.flatnonzero(np.diff(offs[order] // CHUNK_BYTES)) + 1
    out: npt.NDArray[Any] | None = None
    for part in np.split(order, cuts):
        values = read(part)
        if out is None:
            out = np.empty((objs.shape[0], *values.shape[1:]), dtype=values.dtype)
        out[part] = values
        heap.dump.release(int(offs[part[0]]), int(offs[part[-1]]) + 1)
    return out


def int_field(heap: Heap, objs: I32, ci: int, name: str) -> I64 | None:
    """Values of an int-like field for instances of ``ci``; None if the class lacks it."""
    off, ftype = heap.classes.field_offset(ci, name, heap.id_size)
    if off < 0 or ftype == T_OBJECT:
        return None
    width = WIDTH[ftype]
    return in_file_order(
        heap,
        objs,
        lambda part: _fields.read_values(
            heap.dump.buf,
            heap.id_size,
            heap.obj_off,
            heap.obj_kind,
            heap.obj_len,
            objs[part],
            off,
            width,
            True,
        ),
    )


def ref_field(heap: Heap, objs: I32, ci: int, name: str) -> I32 | None:
    """Object index held by a reference field (-1 null); None if the class lacks it."""
    off, ftype = heap.classes.field_offset(ci, name, heap.id_size)
    if off < 0 or ftype != T_OBJECT:
        return None
    return in_file_order(
        heap,
        objs,
        lambda part: _fields.read_refs(
            heap.dump.buf,
            heap.id_size,
            heap.obj_off,
            heap.obj_kind,
            heap.obj_len,
            objs[part],
            off,
            *heap.index.args(),
        ),
    )


def prim_array_bytes(heap: Heap, arr: int) -> tuple[int, bytes]:
    """Element type and raw (big-endian, as dumped) contents of a primitive array."""
    if arr < 0 or heap.obj_kind[arr] != _scan.KIND_PRIM_ARRAY:
        return 0, b""
    p = int(heap.obj_off[arr]) + 1 + heap.id_size + 8
    et = int(heap.dump.buf[p])
    n = int(heap.obj_len[arr]) * WIDTH.get(et, 1)
    return et, bytes(heap.dump.buf[p + 1 : p + 1 + n])


def decode_chars(et: int, data: bytes, coder: int | None) -> str:
    """Text of a String's backing array: char[] is UTF-16 big-endian in the dump;
    compact strings (JDK 9+) keep bytes, Latin-1 or UTF-16 in the JVM's (little-endian)
    byte order."""
    if et == 5:
        return data.decode("utf-16-be", errors="replace")
    if coder == 1:
        return data.decode("utf-16-le", errors="replace")
    return data.decode("latin-1")


def string_value(heap: Heap, obj: int, limit: int = 200) -> str | None:
    """Text of a java.lang.String (or a bare char[]), cut at ``limit`` characters."""
    if obj < 0:
        return None
    if heap.obj_kind[obj] == _scan.KIND_PRIM_ARRAY:
        et, data = prim_array_bytes(heap, obj)
        return decode_chars(et, data, None)[:limit]
    ci = int(heap.obj_cls[obj])
    objs = np.array([obj], dtype=np.int32)
    value = ref_field(heap, objs, ci, "value")
    if value is None:
        return None
    et, data = prim_array_bytes(heap, int(value[0]))
    coder = int_field(heap, objs, ci, "coder")
    offset, count = int_field(heap, objs, ci, "offset"), int_field(heap, objs, ci, "count")
    if offset is not None and count is not None and et == 5:
        data = data[2 * int(offset[0]) : 2 * (int(offset[0]) + int(count[0]))]
    return decode_chars(et, data, int(coder[0]) if coder is not None else None)[:limit]


def field_name_to(heap: Heap, src: int, dst: int) -> str:
    """How ``src`` refers to ``dst``: a field name, an array slot or a class link."""
    kind = heap.obj_kind[src]
    dst_id = int(heap.obj_id[dst])
    start = int(heap.obj_off[src]) + 1 + 2 * heap.id_size + 8
    buf, ids = heap.dump.buf, heap.id_size
    if kind == _scan.KIND_OBJ_ARRAY:
        vals = _ids_at(buf, start, int(heap.obj_len[src]), ids)
        hits = np.flatnonzero(vals == dst_id)
        return f"[{int(hits[0])}]" if hits.shape[0] else "<element>"
    if kind == _scan.KIND_INSTANCE:
        return _instance_field_to(heap, src, dst_id, start)
    if kind == _scan.KIND_CLASS:
        info = heap.classes.infos[int(heap.obj_cls[src])]
        for name, t, value in info.statics:
            if t == T_OBJECT and value == dst_id:
                return f"static {name}"
        return "<class link>"
    return "<link>"


def _instance_field_to(heap: Heap, src: int, dst_id: int, start: int) -> str:
    ci = int(heap.obj_cls[src])
    off = 0
    for c in heap.classes.hierarchy(ci):
        for fname, ftype in heap.classes.infos[c].fields:
            width = heap.id_size if ftype == T_OBJECT else WIDTH.get(ftype, 0)
            if ftype == T_OBJECT and off + width <= heap.obj_len[src]:
                raw = bytes(heap.dump.buf[start + off : start + off + width])
                if int.from_bytes(raw, "big", signed=width == 8) == dst_id:
                    return fname
            off += width
    if heap.classes.infos[ci].cid == dst_id:
        return "<class>"
    return "<java local>"  # thread -> local edges added for frame roots


def _ids_at(buf: npt.NDArray[np.uint8], start: int, n: int, id_size: int) -> I64:
    raw = np.asarray(buf[start : start + n * id_size]).reshape(n, id_size).astype(np.int64)
    out = np.zeros(n, dtype=np.int64)
    for k in range(id_size):
        out = (out << 8) | raw[:, k]
    return out
