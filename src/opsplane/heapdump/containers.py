"""Empty and mostly-empty collections (HashMap, ArrayList, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _scan
from opsplane.heapdump.heap import Heap
from opsplane.heapdump.objects import instances_of, int_field, ref_field

# base class -> (size field, backing array field)
KNOWN = {
    "java.util.HashMap": ("size", "table"),
    "java.util.Hashtable": ("count", "table"),
    "java.util.WeakHashMap": ("size", "table"),
    "java.util.IdentityHashMap": ("size", "table"),
    "java.util.concurrent.ConcurrentHashMap": ("baseCount", "table"),
    "java.util.ArrayList": ("size", "elementData"),
    "java.util.Vector": ("elementCount", "elementData"),
}
MOSTLY_EMPTY = 0.25  # fill ratio below which a collection is "mostly empty"


def collections_report(heap: Heap) -> list[dict[str, Any]]:
    """One row per collection class (subclasses included), most wasted bytes first.

    ``wasted_bytes`` is the shallow size of backing arrays of empty collections plus the
    unused slots (capacity - size) of the others, at the dump's reference size.
    """
    rows = []
    for ci, base in _collection_classes(heap).items():
        objs = instances_of(heap, ci)
        if objs.shape[0] == 0:
            continue
        size_f, arr_f = KNOWN[base]
        sizes = int_field(heap, objs, ci, size_f)
        arrays = ref_field(heap, objs, ci, arr_f)
        if sizes is None or arrays is None:
            continue
        rows.append(_row(heap, heap.classes.infos[ci].name, sizes, arrays))
    rows.sort(key=lambda r: (-r["wasted_bytes"], r["class"]))
    return rows


def _collection_classes(heap: Heap) -> dict[int, str]:
    out = {}
    for ci in range(len(heap.classes.infos)):
        for c in heap.classes.hierarchy(ci):
            name = heap.classes.infos[c].name
            if name in KNOWN:
                out[ci] = name
                break
    return out


def _row(
    heap: Heap, name: str, sizes: npt.NDArray[np.int64], arrays: npt.NDArray[np.int32]
) -> dict[str, Any]:
    has = arrays >= 0
    cap = np.zeros(sizes.shape[0], dtype=np.int64)
    is_arr = has.copy()
    is_arr[has] = heap.obj_kind[arrays[has]] == _scan.KIND_OBJ_ARRAY
    cap[is_arr] = heap.obj_len[arrays[is_arr]]
    sizes = np.clip(sizes, 0, None)
    empty = sizes == 0
    fill = np.where(cap > 0, sizes / np.maximum(cap, 1), 1.0)
    mostly = ~empty & (cap > 0) & (fill < MOSTLY_EMPTY)
    wasted = int(heap.shallow[arrays[empty & is_arr]].sum())
    wasted += int((np.clip(cap - sizes, 0, None)[~empty] * heap.model.ref_size).sum())
    return {
        "class": name,
        "instances": int(sizes.shape[0]),
        "empty": int(empty.sum()),
        "mostly_empty": int(mostly.sum()),
        "average_fill": round(float(np.mean(np.minimum(fill, 1.0))), 4),
        "wasted_bytes": wasted,
    }
