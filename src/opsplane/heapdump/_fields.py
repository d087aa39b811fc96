"""numba kernels that read fields and array contents of many objects at once."""

from __future__ import annotations

import numpy as np
from numba import njit

from opsplane.heapdump._graph import lookup_one
from opsplane.heapdump._scan import KIND_INSTANCE, KIND_PRIM_ARRAY, TYPE_SIZE, read_id

FNV_OFFSET = np.uint64(0xCBF29CE484222325)
FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def read_values(buf, id_size, o_off, o_kind, o_len, objs, field_off, width, signed):  # type: ignore[no-untyped-def]
    """Integer field at ``field_off`` of each instance; 0 where out of bounds."""
    out = np.zeros(objs.shape[0], dtype=np.int64)
    for k in range(objs.shape[0]):
        o = objs[k]
        if o < 0 or o_kind[o] != KIND_INSTANCE or field_off < 0:
            continue
        if field_off + width > o_len[o]:
            continue
        v = read_id(buf, o_off[o] + 1 + 2 * id_size + 8 + field_off, width)
        if signed and width < 8 and v >= (np.int64(1) << (8 * width - 1)):
            v -= np.int64(1) << (8 * width)
        out[k] = v
    return out


@njit(cache=True)
def read_refs(  # type: ignore[no-untyped-def]
    buf,
    id_size,
    o_off,
    o_kind,
    o_len,
    objs,
    field_off,
    sid,
    perm,
    base,
    top,
    shift,
    bstart,
):
    """Object index referenced by a field of each instance; -1 for null or unknown."""
    out = np.full(objs.shape[0], -1, dtype=np.int32)
    for k in range(objs.shape[0]):
        o = objs[k]
        if o < 0 or o_kind[o] != KIND_INSTANCE or field_off < 0:
            continue
        if field_off + id_size > o_len[o]:
            continue
        v = read_id(buf, o_off[o] + 1 + 2 * id_size + 8 + field_off, id_size)
        if v != 0:
            out[k] = lookup_one(v, sid, perm, base, top, shift, bstart)
    return out


@njit(cache=True)
def hash_prim_arrays(buf, id_size, o_off, o_kind, o_len, arrays, start, count, salt):  # type: ignore[no-untyped-def]
    """FNV-1a hash and byte length of each primitive array's contents.

    ``start``/``count`` (elements, -1 = whole array) select a slice, as old String
    layouts share one char[] between substrings; ``salt`` separates encodings.
    """
    n = arrays.shape[0]
    hashes = np.zeros(n, dtype=np.uint64)
    nbytes = np.full(n, -1, dtype=np.int64)
    for k in range(n):
        a = arrays[k]
        if a < 0 or o_kind[a] != KIND_PRIM_ARRAY:
            continue
        p = o_off[a] + 1 + id_size + 8
        es = TYPE_SIZE[buf[p]]
        lo = 0 if start[k] < 0 else start[k]
        cnt = o_len[a] - lo if count[k] < 0 else count[k]
        if lo + cnt > o_len[a] or cnt < 0:
            continue
        h = FNV_OFFSET ^ np.uint64(salt[k])
        data = p + 1 + lo * es
        for i in range(cnt * es):
            h = (h ^ np.uint64(buf[data + i])) * FNV_PRIME
        hashes[k] = h
        nbytes[k] = cnt * es
    return hashes, nbytes
