"""Dominator tree of a heap graph with retained sizes (wrapping the numba kernels)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _dominators
from opsplane.heapdump.graph import is_root_mask
from opsplane.heapdump.heap import Heap

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass
class DominatorTree:
    """``idom[v]`` is the immediate dominator (``n`` = virtual root, -1 unreachable)."""

    n: int
    idom: I32
    retained: I64  # bytes, index n is the whole reachable heap
    retained_count: I64
    kid_off: I64
    kids: I32
    reachable: npt.NDArray[np.bool_]

    def children(self, v: int) -> I32:
        return self.kids[self.kid_off[v] : self.kid_off[v + 1]]

    @property
    def reachable_bytes(self) -> int:
        return int(self.retained[self.n])


def compute(heap: Heap) -> DominatorTree:
    n = heap.n
    vertex, dfnum, parent = _dominators.dfs_preorder(heap.offsets, heap.edges, heap.root_objects, n)
    poff, preds = _dominators.preds_in_preorder(
        heap.offsets, heap.edges, vertex, dfnum, is_root_mask(heap)
    )
    parent_d = dfnum[parent[vertex]]
    parent_d[0] = 0
    idom_d = _dominators.lengauer_tarjan(poff, preds, parent_d)
    del poff, preds, parent_d, parent
    idom = _dominators.to_objects(idom_d, vertex, n)
    del idom_d
    shallow = np.append(heap.shallow, 0)
    ret, cnt = _dominators.retained(vertex, idom, shallow, n)
    kid_off, kids = _dominators.children_csr(idom, n)
    return DominatorTree(n, idom, ret, cnt, kid_off, kids, dfnum[:n] >= 0)


def class_retained(heap: Heap, tree: DominatorTree) -> I64:
    """Retained bytes of each class's set of instances (the histogram's column)."""
    types = np.append(_types(heap), -1).astype(np.int32)
    return _dominators.class_retained(  # type: ignore[no-any-return]
        tree.kid_off, tree.kids, types, tree.retained, heap.n, len(heap.classes.infos)
    )


def _types(heap: Heap) -> I32:
    """Histogram class of each object: class objects count under java.lang.Class."""
    types = heap.obj_cls.copy()
    jlc = heap.classes.find("java.lang.Class")
    types[heap.obj_kind == 3] = jlc
    return types
