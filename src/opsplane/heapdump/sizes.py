"""MAT's shallow-size model for HotSpot dumps, and per-class reference layouts.

See docs/heapdump.md for the model: object header = pointer size + reference size,
fields packed per class and aligned to the reference size at each superclass step,
objects aligned to the alignment implied by the addresses in the dump.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsplane.heapdump.classes import (
    FINALIZER,
    FLAG_WEAK,
    REFERENCE,
    T_OBJECT,
    VALUE_SIZE,
    ClassTable,
)

ELEMENT_SIZE = np.array([0, 0, 0, 0, 1, 2, 4, 8, 1, 2, 4, 8], dtype=np.int64)


@dataclass(frozen=True)
class SizeModel:
    """The three numbers that determine every shallow size."""

    pointer_size: int  # mark word / uncompressed pointer (the dump's id size)
    ref_size: int  # 4 when compressed oops are inferred from a 64-bit dump
    align: int  # object alignment

    @property
    def header(self) -> int:
        return self.pointer_size + self.ref_size

    def instance(self, raw: int) -> int:
        return _align_up(raw, self.align)

    def obj_arrays(self, lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return _align_up_np(self.header + 4 + lengths * self.ref_size, self.align)

    def prim_arrays(
        self, lengths: npt.NDArray[np.int64], elem_types: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        base = _align_up(self.header + 4, self.ref_size)
        return _align_up_np(base + lengths * ELEMENT_SIZE[elem_types], self.align)


def _align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def _align_up_np(n: npt.NDArray[np.int64], a: int) -> npt.NDArray[np.int64]:
    return (n + (a - 1)) // a * a


def object_alignment(ids: npt.NDArray[np.int64]) -> int:
    """GCD of the gaps between object addresses, clamped to [8, 256] like MAT.

    Any order of the addresses gives the same GCD (every difference is a sum of
    consecutive ones), so file order does and no sort is needed."""
    ids = ids[ids != 0]
    if ids.shape[0] < 2:
        return 8
    gaps = np.abs(np.diff(ids))
    gaps = gaps[gaps > 0]
    g = int(np.gcd.reduce(gaps[: 1 << 20])) if gaps.shape[0] else 8
    return max(min(g, 256), 8) if g > 0 else 8


def layout(table: ClassTable, id_size: int, model: SizeModel) -> None:
    """Fill super links, instance/static sizes and reference tables of ``table``."""
    n = len(table.infos)
    table.super_idx = np.array(
        [table.index.get(c.super_id, -1) if c.super_id else -1 for c in table.infos],
        dtype=np.int32,
    )
    raw: dict[int, int] = {}
    table.inst_size = np.array(
        [model.instance(_raw_size(table, i, model, raw)) for i in range(n)], dtype=np.int64
    )
    table.static_size = np.array(
        [
            _align_up(sum(_field_bytes(t, model.ref_size) for _, t, _ in c.statics), model.align)
            for c in table.infos
        ],
        dtype=np.int64,
    )
    _instance_refs(table, id_size)
    _class_refs(table)


def _field_bytes(ftype: int, ref_size: int) -> int:
    return ref_size if ftype == T_OBJECT else VALUE_SIZE.get(ftype, 0)


def _raw_size(table: ClassTable, ci: int, model: SizeModel, memo: dict[int, int]) -> int:
    """Header plus fields of the class chain, aligned to the reference size at each
    class boundary; a class without a superclass (java.lang.Object) is just the header.
    Iterative because hierarchies can be deep."""
    size = model.header
    for pos, c in enumerate(reversed(table.hierarchy(ci))):
        if c in memo:
            size = memo[c]
            continue
        if pos > 0 or table.infos[c].super_id != 0:
            own = sum(_field_bytes(t, model.ref_size) for _, t in table.infos[c].fields)
            size = _align_up(own + size, model.ref_size)
        memo[c] = size
    return size


def _instance_refs(table: ClassTable, id_size: int) -> None:
    starts = [0]
    offs: list[int] = []
    flags: list[int] = []
    for ci in range(len(table.infos)):
        off = 0
        for c in table.hierarchy(ci):
            weak = table.infos[c].name == REFERENCE
            for fname, ftype in table.infos[c].fields:
                if ftype == T_OBJECT:
                    offs.append(off)
                    flags.append(FLAG_WEAK if weak and fname == "referent" else 0)
                off += id_size if ftype == T_OBJECT else VALUE_SIZE.get(ftype, 0)
        starts.append(len(offs))
    table.ref_start = np.array(starts, dtype=np.int64)
    table.ref_off = np.array(offs, dtype=np.int64)
    table.ref_flag = np.array(flags, dtype=np.uint8)


def _class_refs(table: ClassTable) -> None:
    """Edges out of class objects: super, loader, signers, domain and static refs."""
    starts = [0]
    ids: list[int] = []
    flags: list[int] = []
    for c in table.infos:
        ids.extend(c.other_refs)
        flags.extend([0] * len(c.other_refs))
        for name, t, value in c.statics:
            if t == T_OBJECT and value:
                ids.append(value)
                flags.append(FLAG_WEAK if c.name == FINALIZER and name == "unfinalized" else 0)
        starts.append(len(ids))
    table.cref_start = np.array(starts, dtype=np.int64)
    table.cref_id = np.array(ids, dtype=np.int64)
    table.cref_flag = np.array(flags, dtype=np.uint8)
