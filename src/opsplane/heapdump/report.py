"""The analysis result and its stable JSON form (documented in docs/heapdump.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from opsplane.heapdump import _scan
from opsplane.heapdump.containers import collections_report
from opsplane.heapdump.dominators import DominatorTree, class_retained
from opsplane.heapdump.dupstrings import duplicate_strings
from opsplane.heapdump.heap import Heap
from opsplane.heapdump.suspects import describe, find_suspects
from opsplane.heapdump.threads import threads_report

JSON_KEYS = (
    "summary",
    "histogram",
    "dominators",
    "leak_suspects",
    "duplicate_strings",
    "collections",
    "threads",
)


@dataclass
class Report:
    """Result of :func:`opsplane.heapdump.analyze`.

    ``to_dict()`` gives the documented JSON schema; ``unreachable``, ``warnings`` and
    ``details`` are extra context shown in the HTML report.
    """

    summary: dict[str, int]
    histogram: list[dict[str, Any]]
    dominators: list[dict[str, Any]] = field(default_factory=list)
    leak_suspects: list[dict[str, Any]] = field(default_factory=list)
    duplicate_strings: list[dict[str, Any]] = field(default_factory=list)
    collections: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)
    unreachable: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: exactly the keys of :data:`JSON_KEYS`."""
        return {key: getattr(self, key) for key in JSON_KEYS}


def summary(heap: Heap) -> dict[str, int]:
    return {
        "file_bytes": heap.dump.file_bytes,
        "id_size": heap.id_size,
        "objects": heap.n,
        "classes": int(np.count_nonzero(heap.obj_kind == _scan.KIND_CLASS)),
        # without a graph (histogram only) roots are counted by id, found or not
        "gc_roots": int(heap.root_objects.shape[0])
        if heap.roots.obj.shape[0]
        else int(np.unique(heap.roots.ids).shape[0]),
        "heap_bytes": int(heap.shallow.sum()),
    }


def histogram(heap: Heap, tree: DominatorTree | None) -> list[dict[str, Any]]:
    """Per class: instances and shallow bytes of all objects in the dump, and the
    retained bytes of the class's instance set (None without a dominator tree)."""
    nc = len(heap.classes.infos)
    types = heap.obj_cls.astype(np.int64)
    types[heap.obj_kind == _scan.KIND_CLASS] = heap.classes.find("java.lang.Class")
    ok = types >= 0
    counts = np.bincount(types[ok], minlength=nc)
    shallow = np.bincount(types[ok], weights=heap.shallow[ok], minlength=nc).astype(np.int64)
    retained = class_retained(heap, tree) if tree is not None else None
    names = heap.classes.names
    rows: list[dict[str, Any]] = [
        {
            "class": names[c],
            "instances": int(counts[c]),
            "shallow_bytes": int(shallow[c]),
            "retained_bytes": int(retained[c]) if retained is not None else None,
        }
        for c in np.flatnonzero(counts)
    ]
    rows.sort(key=lambda r: (-(r["retained_bytes"] or 0), -r["shallow_bytes"], r["class"]))
    return rows


def top_dominators(heap: Heap, tree: DominatorTree, top: int) -> list[dict[str, Any]]:
    kids = tree.children(tree.n)
    best = kids[np.argsort(-tree.retained[kids], kind="stable")[:top]]
    return [describe(heap, tree, int(o)) for o in best]


def unreachable(heap: Heap, tree: DominatorTree, top: int) -> dict[str, Any]:
    """Objects in the dump that no GC root reaches (MAT hides them by default)."""
    dead = ~tree.reachable
    types = heap.obj_cls[dead].astype(np.int64)
    types[heap.obj_kind[dead] == _scan.KIND_CLASS] = heap.classes.find("java.lang.Class")
    nc = len(heap.classes.infos)
    ok = types >= 0
    counts = np.bincount(types[ok], minlength=nc)
    sizes = np.bincount(types[ok], weights=heap.shallow[dead][ok], minlength=nc)
    order = np.argsort(-sizes, kind="stable")[:top]
    return {
        "objects": int(dead.sum()),
        "shallow_bytes": int(heap.shallow[dead].sum()),
        "classes": [
            {
                "class": heap.classes.infos[c].name,
                "instances": int(counts[c]),
                "shallow_bytes": int(sizes[c]),
            }
            for c in order
            if counts[c]
        ],
    }


def build(heap: Heap, tree: DominatorTree | None, top: int) -> Report:
    report = Report(summary(heap), histogram(heap, tree), warnings=list(heap.warnings))
    report.details = {
        "hprof_version": heap.dump.version,
        "compressed_dump": heap.dump.compressed,
        "pointer_size": heap.model.pointer_size,
        "reference_size": heap.model.ref_size,
        "object_alignment": heap.model.align,
        "timestamp_ms": heap.dump.timestamp_ms,
    }
    if tree is None:
        return report
    report.details["reachable_bytes"] = tree.reachable_bytes
    report.dominators = top_dominators(heap, tree, top)
    report.leak_suspects = [_suspect_dict(s) for s in find_suspects(heap, tree)]
    report.duplicate_strings = duplicate_strings(heap, top)
    report.collections = collections_report(heap)
    report.threads = threads_report(heap, tree)
    report.unreachable = unreachable(heap, tree, top)
    return report


def _suspect_dict(s: Any) -> dict[str, Any]:
    return {
        "kind": s.kind,
        "class": s.class_name,
        "instances": s.instances,
        "retained_bytes": s.retained_bytes,
        "heap_fraction": round(s.heap_fraction, 6),
        "accumulation_point": s.accumulation_point,
        "path_to_root": s.path_to_root,
    }
