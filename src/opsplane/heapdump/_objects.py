"""numba kernels that give every object its class index and shallow size in one pass."""

from __future__ import annotations

import numpy as np
from numba import njit

from opsplane.heapdump._scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJ_ARRAY, KIND_PRIM_ARRAY


@njit(cache=True)
def prim_types_present(kind, cls):  # type: ignore[no-untyped-def]
    present = np.zeros(12, dtype=np.bool_)
    for i in range(kind.shape[0]):
        if kind[i] == KIND_PRIM_ARRAY:
            present[cls[i]] = True
    return present


@njit(cache=True)
def assign_classes(kind, cls, ids, known, known_idx, prim_idx):  # type: ignore[no-untyped-def]
    """Class index per object (-1 when its class id has no CLASS_DUMP): class objects map
    their own id, arrays of primitives their element type, the rest their class id."""
    out = np.full(kind.shape[0], -1, dtype=np.int32)
    nk = known.shape[0]
    for i in range(kind.shape[0]):
        k = kind[i]
        if k == KIND_PRIM_ARRAY:
            out[i] = prim_idx[cls[i]]
            continue
        v = ids[i] if k == KIND_CLASS else cls[i]
        lo = 0
        hi = nk
        while lo < hi:
            mid = (lo + hi) >> 1
            if known[mid] < v:
                lo = mid + 1
            else:
                hi = mid
        if lo < nk and known[lo] == v:
            out[i] = known_idx[lo]
    return out


@njit(cache=True)
def _align(n, a):  # type: ignore[no-untyped-def]
    return (n + a - 1) // a * a


@njit(cache=True)
def shallow_sizes(  # type: ignore[no-untyped-def]
    kind, cidx, length, cls, inst_size, static_size, header, ref_size, align, elem_size
):
    """Shallow size of every object by MAT's model (same formulas as SizeModel)."""
    out = np.empty(kind.shape[0], dtype=np.int64)
    prim_base = _align(header + 4, ref_size)
    for i in range(kind.shape[0]):
        k = kind[i]
        c = cidx[i]
        if k == KIND_INSTANCE:
            out[i] = inst_size[c] if c >= 0 else _align(header, align)
        elif k == KIND_OBJ_ARRAY:
            out[i] = _align(header + 4 + length[i] * ref_size, align)
        elif k == KIND_PRIM_ARRAY:
            out[i] = _align(prim_base + length[i] * elem_size[cls[i]], align)
        else:
            out[i] = static_size[c] if c >= 0 else 0
    return out
