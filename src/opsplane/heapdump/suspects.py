"""Leak suspects by MAT's rules, their accumulation points and paths to GC roots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _graph, _scan
from opsplane.heapdump.classes import FLAG_WEAK
from opsplane.heapdump.dominators import DominatorTree
from opsplane.heapdump.heap import Heap
from opsplane.heapdump.objects import field_name_to

SUSPECT_FRACTION = 0.10  # an object or class retaining this share of the heap
BIG_DROP_RATIO = 0.70  # descend while the biggest child keeps this share
MAX_PATH = 64
ROOT_NAMES = {
    0xFF: "unknown",
    0x01: "JNI global",
    0x02: "JNI local",
    0x03: "Java local",
    0x04: "native stack",
    0x05: "system class",
    0x06: "thread block",
    0x07: "busy monitor",
    0x08: "thread",
}


@dataclass
class Suspect:
    kind: str  # "object" or "class"
    class_name: str
    retained_bytes: int
    heap_fraction: float
    instances: int
    accumulation_point: dict[str, Any]
    path_to_root: list[dict[str, Any]] = field(default_factory=list)
    objects: list[int] = field(default_factory=list)


def describe(heap: Heap, tree: DominatorTree, obj: int) -> dict[str, Any]:
    return {
        "object_id": f"0x{int(heap.obj_id[obj]) & (2**64 - 1):x}",
        "class": heap.class_name(obj),
        "shallow_bytes": int(heap.shallow[obj]),
        "retained_bytes": int(tree.retained[obj]),
        "retained_objects": int(tree.retained_count[obj]),
    }


def accumulation_point(tree: DominatorTree, obj: int) -> int:
    """Follow the biggest dominated child while it keeps >= 70 % of its parent."""
    cur = obj
    for _ in range(tree.n):
        kids = tree.children(cur)
        if kids.shape[0] == 0:
            return cur
        big = int(kids[np.argmax(tree.retained[kids])])
        if tree.retained[big] < BIG_DROP_RATIO * tree.retained[cur]:
            return cur
        cur = big
    return cur


def find_suspects(heap: Heap, tree: DominatorTree) -> list[Suspect]:
    total = tree.reachable_bytes
    if total <= 0:
        return []
    top = tree.children(tree.n)
    threshold = SUSPECT_FRACTION * total
    big = top[tree.retained[top] >= threshold]
    out = [_object_suspect(heap, tree, int(o), total) for o in big[np.argsort(-tree.retained[big])]]
    rest = top[tree.retained[top] < threshold]
    types = np.array([heap.type_of(int(o)) for o in rest], dtype=np.int64)
    if rest.shape[0]:
        sums = np.bincount(types + 1, weights=tree.retained[rest].astype(np.float64))
        for c1 in np.flatnonzero(sums >= threshold):
            members = rest[types == c1 - 1]
            out.append(_class_suspect(heap, tree, members, int(sums[c1]), total))
    out.sort(key=lambda s: -s.retained_bytes)
    _attach_paths(heap, out)
    return out


def _object_suspect(heap: Heap, tree: DominatorTree, obj: int, total: int) -> Suspect:
    acc = accumulation_point(tree, obj)
    ret = int(tree.retained[obj])
    return Suspect(
        "object",
        heap.class_name(obj),
        ret,
        ret / total,
        1,
        describe(heap, tree, acc),
        objects=[acc],
    )


def _class_suspect(
    heap: Heap, tree: DominatorTree, members: npt.NDArray[np.int32], ret: int, total: int
) -> Suspect:
    biggest = int(members[np.argmax(tree.retained[members])])
    acc = accumulation_point(tree, biggest)
    return Suspect(
        "class",
        heap.class_name(biggest),
        ret,
        ret / total,
        int(members.shape[0]),
        describe(heap, tree, acc),
        objects=[acc],
    )


def _attach_paths(heap: Heap, suspects: list[Suspect]) -> None:
    """Path of each accumulation point: it shows which field holds the growth."""
    if not suspects:
        return
    targets = np.array([s.objects[0] for s in suspects], dtype=np.int32)
    parent = _graph.bfs_parents(
        heap.offsets, heap.edges, heap.eflags, heap.root_objects, heap.n, FLAG_WEAK, targets
    )
    for s in suspects:
        s.path_to_root = path_to_root(heap, parent, s.objects[0])


def path_to_root(heap: Heap, parent: npt.NDArray[np.int32], obj: int) -> list[dict[str, Any]]:
    """Shortest strong path, listed from ``obj`` up to its GC root."""
    path: list[dict[str, Any]] = []
    cur = obj
    while cur >= 0 and len(path) < MAX_PATH:
        up = int(parent[cur])
        step: dict[str, Any] = {
            "object_id": f"0x{int(heap.obj_id[cur]) & (2**64 - 1):x}",
            "class": heap.class_name(cur),
            "label": label(heap, cur),
        }
        if up >= 0:
            step["referenced_by"] = field_name_to(heap, up, cur)
        elif up == -2:
            step["gc_root"] = root_kinds(heap, cur)
        path.append(step)
        cur = up
    return path


def label(heap: Heap, obj: int) -> str:
    """Class name, or ``class X`` for the class object of X (statics hang off it)."""
    if heap.obj_kind[obj] == _scan.KIND_CLASS:
        return "class " + heap.classes.infos[int(heap.obj_cls[obj])].name
    return heap.class_name(obj)


def root_kinds(heap: Heap, obj: int) -> list[str]:
    kinds = heap.roots.kind[heap.roots.obj == obj]
    return sorted({ROOT_NAMES.get(int(k), f"0x{int(k):02x}") for k in kinds})
