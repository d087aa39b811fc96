"""numba kernels: id -> object index lookup and reference extraction into CSR.

Objects are indexed in file order. The lookup keeps ids sorted with a bucket table
over the high bits of the address, so a lookup is one table read plus a short
binary search in cache-local memory instead of a search over millions of ids.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from opsplane.heapdump._scan import KIND_CLASS, KIND_INSTANCE, KIND_OBJ_ARRAY, read_id


class IdIndex:
    """Sorted ids with bucket starts; ``perm`` maps sorted position -> object index."""

    def __init__(self, ids: npt.NDArray[np.int64]):
        order = np.argsort(ids, kind="stable").astype(np.int32)
        self.sorted_ids = ids[order]
        self.perm = order
        n = ids.shape[0]
        self.base = int(self.sorted_ids[0]) if n else 0
        self.top = int(self.sorted_ids[-1]) if n else -1
        span = (self.top - self.base) if n else 0
        shift = 0
        while (span >> shift) + 1 > max(2 * n, 1):
            shift += 1
        self.shift = shift
        nb = (span >> shift) + 1 if n else 0
        keys = (self.sorted_ids.view(np.uint64) - np.uint64(self.base & (2**64 - 1))) >> np.uint64(
            shift
        )
        # bucket b holds sorted positions bucket_start[b] .. bucket_start[b + 1] - 1
        self.bucket_start = np.zeros(nb + 1, dtype=np.int64)
        np.cumsum(np.bincount(keys.astype(np.int64), minlength=nb), out=self.bucket_start[1:])

    def duplicates(self) -> int:
        return int(np.count_nonzero(np.diff(self.sorted_ids) == 0))

    def lookup(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        out: npt.NDArray[np.int32] = lookup_many(ids, *self.args())
        return out

    def args(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32], int, int, int, npt.NDArray[np.int64]]:
        return (self.sorted_ids, self.perm, self.base, self.top, self.shift, self.bucket_start)


@njit(cache=True, inline="always")
def lookup_one(v, sid, perm, base, top, shift, bstart):  # type: ignore[no-untyped-def]
    if v < base or v > top:
        return -1
    b = np.uint64(v - base) >> np.uint64(shift)
    lo = bstart[b]
    hi = bstart[b + 1]
    while lo < hi:
        mid = (lo + hi) >> 1
        if sid[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    if lo < sid.shape[0] and sid[lo] == v:
        return perm[lo]
    return -1


@njit(cache=True)
def lookup_many(vals, sid, perm, base, top, shift, bstart):  # type: ignore[no-untyped-def]
    out = np.empty(vals.shape[0], dtype=np.int32)
    for i in range(vals.shape[0]):
        out[i] = lookup_one(vals[i], sid, perm, base, top, shift, bstart)
    return out


@njit(cache=True)
def extract_edges(  # type: ignore[no-untyped-def]
    buf,
    id_size,
    lo,
    hi,
    o_off,
    o_kind,
    o_cidx,
    o_len,
    ref_start,
    ref_off,
    ref_flag,
    cref_start,
    cref_id,
    cref_flag,
    class_obj,
    sid,
    perm,
    base,
    top,
    shift,
    bstart,
    offsets,
    edges,
    eflags,
    m,
    dangling,
):
    """Append the outgoing references of objects ``lo..hi-1``; returns the new edge
    count. Null references are skipped; ids absent from the dump count as dangling.
    Kept as one loop for speed, like ``_scan.scan_heap``."""
    for i in range(lo, hi):
        offsets[i] = m
        kind = o_kind[i]
        c = o_cidx[i]
        if kind != KIND_CLASS and c >= 0 and class_obj[c] >= 0:
            edges[m] = class_obj[c]
            eflags[m] = 0
            m += 1
        data = o_off[i] + 1 + 2 * id_size + 8
        if kind == KIND_INSTANCE:
            if c < 0:
                continue
            nbytes = o_len[i]
            for k in range(ref_start[c], ref_start[c + 1]):
                fo = ref_off[k]
                if fo + id_size > nbytes:
                    break
                v = read_id(buf, data + fo, id_size)
                if v != 0:
                    t = lookup_one(v, sid, perm, base, top, shift, bstart)
                    if t >= 0:
                        edges[m] = t
                        eflags[m] = ref_flag[k]
                        m += 1
                    else:
                        dangling[0] += 1
        elif kind == KIND_OBJ_ARRAY:
            for j in range(o_len[i]):
                v = read_id(buf, data + j * id_size, id_size)
                if v != 0:
                    t = lookup_one(v, sid, perm, base, top, shift, bstart)
                    if t >= 0:
                        edges[m] = t
                        eflags[m] = 0
                        m += 1
                    else:
                        dangling[0] += 1
        elif kind == KIND_CLASS and c >= 0:
            for k in range(cref_start[c], cref_start[c + 1]):
                t = lookup_one(cref_id[k], sid, perm, base, top, shift, bstart)
                if t >= 0:
                    edges[m] = t
                    eflags[m] = cref_flag[k]
                    m += 1
    offsets[hi] = m
    return m


@njit(cache=True)
def add_edges(offsets, edges, eflags, src, dst):  # type: ignore[no-untyped-def]
    """Return a new CSR with the extra edges ``src[k] -> dst[k]`` merged in."""
    n = offsets.shape[0] - 1
    extra = np.zeros(n + 1, dtype=np.int64)
    for k in range(src.shape[0]):
        extra[src[k]] += 1
    new_off = np.empty(n + 1, dtype=np.int64)
    new_off[0] = 0
    for i in range(n):
        new_off[i + 1] = new_off[i] + (offsets[i + 1] - offsets[i]) + extra[i]
    new_edges = np.empty(new_off[n], dtype=np.int32)
    new_flags = np.zeros(new_off[n], dtype=np.uint8)
    cursor = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = new_off[i]
        for e in range(offsets[i], offsets[i + 1]):
            new_edges[p] = edges[e]
            new_flags[p] = eflags[e]
            p += 1
        cursor[i] = p
    for k in range(src.shape[0]):
        new_edges[cursor[src[k]]] = dst[k]
        cursor[src[k]] += 1
    return new_off, new_edges, new_flags


@njit(cache=True)
def bfs_parents(offsets, edges, eflags, roots, n, skip_flags, targets):  # type: ignore[no-untyped-def]
    """Breadth-first search from all GC roots ignoring edges with ``skip_flags``;
    ``parent[v]`` gives a shortest path back to a root (-2 marks a root itself).
    Stops once every target has been reached."""
    parent = np.full(n, -1, dtype=np.int32)
    wanted = np.zeros(n, dtype=np.bool_)
    left = 0
    for t in range(targets.shape[0]):
        if not wanted[targets[t]]:
            wanted[targets[t]] = True
            left += 1
    queue = np.empty(n, dtype=np.int32)
    head = 0
    tail = 0
    for r in range(roots.shape[0]):
        v = roots[r]
        if parent[v] == -1:
            parent[v] = -2
            queue[tail] = v
            tail += 1
            if wanted[v]:
                left -= 1
    while head < tail and left > 0:
        v = queue[head]
        head += 1
        for e in range(offsets[v], offsets[v + 1]):
            if eflags[e] & skip_flags:
                continue
            w = edges[e]
            if parent[w] == -1:
                parent[w] = v
                queue[tail] = w
                tail += 1
                if wanted[w]:
                    left -= 1
    return parent
