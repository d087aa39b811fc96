"""Class table: names, supers, fields and per-class reference layouts.

Instance references are later extracted by numba from flat per-class tables of
field offsets (``ref_start``/``ref_off``), so no Python runs per object.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from opsplane.heapdump.symbols import Symbols

T_OBJECT = 2
# HPROF basic type -> size in bytes (identifier types use the id size)
VALUE_SIZE = {4: 1, 5: 2, 6: 4, 7: 8, 8: 1, 9: 2, 10: 4, 11: 8}
PRIM_ARRAY_NAMES = {
    4: "boolean[]",
    5: "char[]",
    6: "float[]",
    7: "double[]",
    8: "byte[]",
    9: "short[]",
    10: "int[]",
    11: "long[]",
}
FLAG_WEAK = 1  # edge that path-to-GC-root search must not follow
REFERENCE = "java.lang.ref.Reference"
FINALIZER = "java.lang.ref.Finalizer"


@dataclass
class ClassInfo:
    """One class as dumped (only fields the analyzer needs)."""

    cid: int
    name: str
    super_id: int
    loader_id: int
    fields: list[tuple[str, int]]  # own instance fields: (name, basic type)
    statics: list[tuple[str, int, int]]  # (name, basic type, value or id)
    other_refs: list[int]  # super, loader, signers, protection domain
    dumped: bool = True


@dataclass
class ClassTable:
    """All classes, indexed 0..n-1; arrays are filled by :meth:`layout`."""

    infos: list[ClassInfo]
    index: dict[int, int]  # class object id -> index
    by_name: dict[str, list[int]] = field(default_factory=dict)
    super_idx: npt.NDArray[np.int32] = field(default_factory=lambda: np.empty(0, np.int32))
    inst_size: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    static_size: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    ref_start: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    ref_off: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    ref_flag: npt.NDArray[np.uint8] = field(default_factory=lambda: np.empty(0, np.uint8))
    cref_start: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    cref_id: npt.NDArray[np.int64] = field(default_factory=lambda: np.empty(0, np.int64))
    cref_flag: npt.NDArray[np.uint8] = field(default_factory=lambda: np.empty(0, np.uint8))

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.infos]

    def find(self, name: str) -> int:
        """Index of the first class with this name, -1 if absent."""
        hits = self.by_name.get(name)
        return hits[0] if hits else -1

    def hierarchy(self, ci: int) -> list[int]:
        """``ci`` and its supers, nearest first (cycle-safe for corrupt dumps)."""
        chain: list[int] = []
        while ci >= 0 and ci not in chain:
            chain.append(ci)
            ci = int(self.super_idx[ci])
        return chain

    def field_offset(self, ci: int, name: str, id_size: int) -> tuple[int, int]:
        """Byte offset and type of the first field ``name`` in an instance of ``ci``."""
        off = 0
        for c in self.hierarchy(ci):
            for fname, ftype in self.infos[c].fields:
                if fname == name:
                    return off, ftype
                off += id_size if ftype == T_OBJECT else VALUE_SIZE.get(ftype, 0)
        return -1, 0

    def add_fake(self, cid: int, name: str) -> int:
        info = ClassInfo(cid, name, 0, 0, [], [], [], dumped=False)
        self.index[cid] = len(self.infos)
        self.infos.append(info)
        self.by_name.setdefault(name, []).append(len(self.infos) - 1)
        return len(self.infos) - 1


def parse_classes(
    buf: npt.NDArray[np.uint8],
    offsets: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    id_size: int,
    symbols: Symbols,
    names: dict[int, str],
) -> ClassTable:
    """Parse every CLASS_DUMP sub-record (their extents were validated by the scan)."""
    infos: list[ClassInfo] = []
    index: dict[int, int] = {}
    by_name: dict[str, list[int]] = {}
    for off, n in zip(offsets.tolist(), lengths.tolist(), strict=True):
        info = _parse_one(bytes(buf[off + 1 : off + n]), id_size, symbols, names)
        index.setdefault(info.cid, len(infos))
        by_name.setdefault(info.name, []).append(len(infos))
        infos.append(info)
    return ClassTable(infos, index, by_name)


def _parse_one(rec: bytes, id_size: int, symbols: Symbols, names: dict[int, str]) -> ClassInfo:
    idc = "I" if id_size == 4 else "Q"
    ids = struct.unpack_from(f">{idc}I{idc * 6}", rec, 0)
    cid, super_id, loader, signers, pd = (signed(ids[k]) for k in (0, 2, 3, 4, 5))
    p = 7 * id_size + 8
    (ncp,) = struct.unpack_from(">H", rec, p)
    p += 2
    for _ in range(ncp):
        t = rec[p + 2]
        p += 3 + (id_size if t == T_OBJECT else VALUE_SIZE[t])
    (nstat,) = struct.unpack_from(">H", rec, p)
    p += 2
    statics: list[tuple[str, int, int]] = []
    for _ in range(nstat):
        nid = int.from_bytes(rec[p : p + id_size], "big")
        t = rec[p + id_size]
        size = id_size if t == T_OBJECT else VALUE_SIZE[t]
        value = int.from_bytes(rec[p + 1 + id_size : p + 1 + id_size + size], "big")
        value = signed(value) if t == T_OBJECT else value
        statics.append((symbols.get(nid, "?"), t, value))
        p += 1 + id_size + size
    (nfld,) = struct.unpack_from(">H", rec, p)
    p += 2
    fields: list[tuple[str, int]] = []
    for _ in range(nfld):
        nid = int.from_bytes(rec[p : p + id_size], "big")
        fields.append((symbols.get(nid, "?"), rec[p + id_size]))
        p += 1 + id_size
    name = names.get(cid, f"unknown-name@0x{cid:x}")
    refs = [r for r in (super_id, loader, signers, pd) if r]
    return ClassInfo(cid, name, super_id, loader, fields, statics, refs)


def signed(v: int) -> int:
    """Ids are int64 everywhere; wrap 64-bit ids with the top bit set."""
    return v - (1 << 64) if v >= 1 << 63 else v
