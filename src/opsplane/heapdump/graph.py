"""Build the reference graph (CSR) and the GC-root set of a loaded heap."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _graph, _scan
from opsplane.heapdump.heap import THREAD_LOCAL_ROOTS, Heap, Progress

THREAD_OBJECT_ROOT = 0x08


def build_graph(heap: Heap, report: Progress) -> None:
    """Fill ``heap.offsets/edges/eflags`` and ``heap.root_objects``."""
    n = heap.n
    c = heap.classes
    if (dups := heap.index.duplicates()) > 0:
        heap.warnings.append(f"{dups} object ids occur more than once; references use one")
    class_obj = heap.index.lookup(np.array([info.cid for info in c.infos], dtype=np.int64))
    bound = _edge_bound(heap)
    offsets = np.zeros(n + 1, dtype=np.int64)
    edges = np.empty(bound, dtype=np.int32)
    eflags = np.empty(bound, dtype=np.uint8)
    dangling = np.zeros(1, dtype=np.int64)
    m = 0
    lo = 0
    total = max(len(heap.batches), 1)
    for k, (_a, _b, start, end) in enumerate(heap.batches):
        hi = int(np.searchsorted(heap.obj_off, end))
        m = _graph.extract_edges(
            heap.dump.buf,
            heap.id_size,
            lo,
            hi,
            heap.obj_off,
            heap.obj_kind,
            heap.obj_cls,
            heap.obj_len,
            c.ref_start,
            c.ref_off,
            c.ref_flag,
            c.cref_start,
            c.cref_id,
            c.cref_flag,
            class_obj,
            *heap.index.args(),
            offsets,
            edges,
            eflags,
            m,
            dangling,
        )
        heap.dump.release(start, end)
        lo = hi
        report("graph", (k + 1) / total)
    offsets[lo:] = m
    if dangling[0]:
        heap.warnings.append(f"{int(dangling[0])} references point to objects not in the dump")
    heap.offsets, heap.edges, heap.eflags = offsets, edges[:m], eflags[:m]
    _add_roots(heap)


def _edge_bound(heap: Heap) -> int:
    """Upper bound on edges: every reference slot plus one class edge per object."""
    c = heap.classes
    per_class = np.diff(c.ref_start)
    kind = heap.obj_kind
    inst = kind == _scan.KIND_INSTANCE
    arr = kind == _scan.KIND_OBJ_ARRAY
    bound = heap.n + int(per_class[heap.obj_cls[inst]].sum()) + int(heap.obj_len[arr].sum())
    return bound + int(c.cref_start[-1])


def _add_roots(heap: Heap) -> None:
    """GC roots the MAT way: locals of a thread become references from its Thread
    object rather than roots of their own, so what a thread holds is retained by it."""
    r = heap.roots
    r.obj = heap.index.lookup(r.ids)
    found = r.obj >= 0
    thread_of = {
        int(s): int(o)
        for s, o, k in zip(r.thread.tolist(), r.obj.tolist(), r.kind.tolist(), strict=True)
        if k == THREAD_OBJECT_ROOT and o >= 0
    }
    src = np.array([thread_of.get(int(s), -1) for s in r.thread.tolist()], dtype=np.int32)
    local = np.isin(r.kind, THREAD_LOCAL_ROOTS) & found & (src >= 0)
    if np.any(local):
        heap.offsets, heap.edges, heap.eflags = _graph.add_edges(
            heap.offsets, heap.edges, heap.eflags, src[local], r.obj[local]
        )
    heap.root_objects = np.unique(r.obj[found & ~local]).astype(np.int32)
    if not np.all(found):
        heap.warnings.append(f"{int(np.count_nonzero(~found))} GC roots name unknown objects")


def is_root_mask(heap: Heap) -> npt.NDArray[np.bool_]:
    mask = np.zeros(heap.n + 1, dtype=np.bool_)
    mask[heap.root_objects] = True
    return mask
