"""HPROF string constants (``STRING IN UTF8``) and ``LOAD CLASS`` names.

A dump holds hundreds of thousands of strings, most never needed; only their ids and
offsets are kept in numpy arrays and a string is decoded when asked for.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
PRIMITIVE_NAMES = {
    "Z": "boolean",
    "C": "char",
    "F": "float",
    "D": "double",
    "B": "byte",
    "S": "short",
    "I": "int",
    "J": "long",
}


def gather_ids(buf: npt.NDArray[np.uint8], offsets: I64, id_size: int) -> I64:
    """Read one big-endian identifier at each offset (vectorized)."""
    return gather_uint(buf, offsets, id_size)


def gather_uint(buf: npt.NDArray[np.uint8], offsets: I64, width: int) -> I64:
    out = np.zeros(offsets.shape[0], dtype=np.int64)
    for k in range(width):
        out = (out << 8) | buf[offsets + k].astype(np.int64)
    return out


class Symbols:
    """Lazy id -> text lookup over the dump's string records."""

    def __init__(self, buf: npt.NDArray[np.uint8], offsets: I64, lengths: I64, id_size: int):
        ok = lengths >= id_size
        offsets, lengths = offsets[ok], lengths[ok]
        ids = gather_ids(buf, offsets, id_size)
        order = np.argsort(ids, kind="stable")
        self._ids = ids[order]
        self._off = offsets[order] + id_size
        self._len = lengths[order] - id_size
        self._buf = buf
        self._cache: dict[int, str] = {}

    def get(self, sid: int, default: str = "") -> str:
        hit = self._cache.get(sid)
        if hit is not None:
            return hit
        i = int(np.searchsorted(self._ids, sid))
        if i >= self._ids.shape[0] or self._ids[i] != sid:
            return default
        off, n = int(self._off[i]), int(self._len[i])
        text = bytes(self._buf[off : off + n]).decode("utf-8", errors="replace")
        self._cache[sid] = text
        return text


def java_name(jvm_name: str) -> str:
    """``[Ljava/lang/String;`` -> ``java.lang.String[]``, ``[B`` -> ``byte[]``."""
    name = jvm_name.replace("/", ".")
    dims = len(name) - len(name.lstrip("["))
    if dims == 0:
        return name
    elem = name[dims:]
    if elem.startswith("L") and elem.endswith(";"):
        elem = elem[1:-1]
    else:
        elem = PRIMITIVE_NAMES.get(elem, elem)
    return elem + "[]" * dims


def load_class_names(
    buf: npt.NDArray[np.uint8], offsets: I64, id_size: int, symbols: Symbols
) -> tuple[dict[int, str], dict[int, int]]:
    """Map class object id -> Java name and class serial -> class object id."""
    serials = gather_uint(buf, offsets, 4)
    class_ids = gather_ids(buf, offsets + 4, id_size)
    name_ids = gather_ids(buf, offsets + 8 + id_size, id_size)
    names: dict[int, str] = {}
    for cid, nid in zip(class_ids.tolist(), name_ids.tolist(), strict=True):
        names[cid] = java_name(symbols.get(nid, f"unknown-name@0x{nid:x}"))
    by_serial = dict(zip(serials.tolist(), class_ids.tolist(), strict=True))
    return names, by_serial
