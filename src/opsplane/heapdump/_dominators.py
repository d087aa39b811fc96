"""Exact dominator tree (Lengauer-Tarjan with path compression) and retained sizes.

The graph gets a virtual root with index ``n`` whose successors are the GC roots.
All recursion of the textbook algorithm is replaced by explicit stacks so that a
linked list of ten million nodes does not overflow anything.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def dfs_preorder(offsets, edges, roots, n):  # type: ignore[no-untyped-def]
    """Iterative DFS from the virtual root; returns (vertex order, dfnum, parent)."""
    dfnum = np.full(n + 1, -1, dtype=np.int32)
    parent = np.full(n + 1, -1, dtype=np.int32)
    vertex = np.empty(n + 1, dtype=np.int32)
    stack_v = np.empty(n + 1, dtype=np.int32)
    stack_e = np.empty(n + 1, dtype=np.int64)
    count = 0
    dfnum[n] = 0
    vertex[0] = n
    count = 1
    for r in range(roots.shape[0]):
        v0 = roots[r]
        if dfnum[v0] >= 0:
            continue
        dfnum[v0] = count
        vertex[count] = v0
        parent[v0] = n
        count += 1
        sp = 0
        stack_v[0] = v0
        stack_e[0] = offsets[v0]
        while sp >= 0:
            v = stack_v[sp]
            e = stack_e[sp]
            if e >= offsets[v + 1]:
                sp -= 1
                continue
            stack_e[sp] = e + 1
            w = edges[e]
            if dfnum[w] < 0:
                dfnum[w] = count
                vertex[count] = w
                parent[w] = v
                count += 1
                sp += 1
                stack_v[sp] = w
                stack_e[sp] = offsets[w]
    return vertex[:count].copy(), dfnum, parent


@njit(cache=True)
def preds_in_preorder(offsets, edges, vertex, dfnum, is_root):  # type: ignore[no-untyped-def]
    """Predecessor lists renumbered by DFS preorder (index 0 = virtual root), so the
    Lengauer-Tarjan loop walks memory nearly in order instead of jumping around."""
    count = vertex.shape[0]
    poff = np.zeros(count + 1, dtype=np.int64)
    for i in range(1, count):
        v = vertex[i]
        if is_root[v]:
            poff[i + 1] += 1
        for e in range(offsets[v], offsets[v + 1]):
            poff[dfnum[edges[e]] + 1] += 1
    for i in range(count):
        poff[i + 1] += poff[i]
    cursor = poff[:count].copy()
    preds = np.empty(poff[count], dtype=np.int32)
    for i in range(1, count):
        v = vertex[i]
        if is_root[v]:
            preds[cursor[i]] = 0
            cursor[i] += 1
        for e in range(offsets[v], offsets[v + 1]):
            w = dfnum[edges[e]]
            preds[cursor[w]] = i
            cursor[w] += 1
    return poff, preds


@njit(cache=True)
def _eval(v, ancestor, label, semi, stack):  # type: ignore[no-untyped-def]
    if ancestor[v] < 0:
        return v
    # compress the ancestor chain, topmost first, as the recursive version would
    sp = 0
    x = v
    while ancestor[ancestor[x]] >= 0:
        stack[sp] = x
        sp += 1
        x = ancestor[x]
    while sp > 0:
        sp -= 1
        x = stack[sp]
        a = ancestor[x]
        if semi[label[a]] < semi[label[x]]:
            label[x] = label[a]
        ancestor[x] = ancestor[a]
    return label[v]


@njit(cache=True)
def lengauer_tarjan(poff, preds, parent_d):  # type: ignore[no-untyped-def]
    """Immediate dominators in preorder numbering (vertex 0 is the virtual root)."""
    count = parent_d.shape[0]
    semi = np.arange(count, dtype=np.int32)
    label = np.arange(count, dtype=np.int32)
    ancestor = np.full(count, -1, dtype=np.int32)
    idom = np.zeros(count, dtype=np.int32)
    bucket_head = np.full(count, -1, dtype=np.int32)
    bucket_next = np.full(count, -1, dtype=np.int32)
    stack = np.empty(count, dtype=np.int32)
    for w in range(count - 1, 0, -1):
        for e in range(poff[w], poff[w + 1]):
            u = _eval(preds[e], ancestor, label, semi, stack)
            if semi[u] < semi[w]:
                semi[w] = semi[u]
        sw = semi[w]
        bucket_next[w] = bucket_head[sw]
        bucket_head[sw] = w
        p = parent_d[w]
        ancestor[w] = p
        v = bucket_head[p]
        while v >= 0:
            u = _eval(v, ancestor, label, semi, stack)
            idom[v] = u if semi[u] < semi[v] else p
            v = bucket_next[v]
        bucket_head[p] = -1
    for w in range(1, count):
        if idom[w] != semi[w]:
            idom[w] = idom[idom[w]]
    return idom


@njit(cache=True)
def to_objects(idom_d, vertex, n):  # type: ignore[no-untyped-def]
    """Immediate dominator per object: ``n`` = virtual root, -1 = unreachable."""
    idom = np.full(n + 1, -1, dtype=np.int32)
    for i in range(1, vertex.shape[0]):
        idom[vertex[i]] = vertex[idom_d[i]]
    return idom


@njit(cache=True)
def retained(vertex, idom, shallow, n):  # type: ignore[no-untyped-def]
    """Retained bytes and object counts, children before parents (reverse preorder)."""
    ret = np.zeros(n + 1, dtype=np.int64)
    cnt = np.zeros(n + 1, dtype=np.int64)
    for i in range(1, vertex.shape[0]):
        w = vertex[i]
        ret[w] = shallow[w]
        cnt[w] = 1
    for i in range(vertex.shape[0] - 1, 0, -1):
        w = vertex[i]
        d = idom[w]
        ret[d] += ret[w]
        cnt[d] += cnt[w]
    return ret, cnt


@njit(cache=True)
def children_csr(idom, n):  # type: ignore[no-untyped-def]
    """Dominator-tree children of each node (including the virtual root ``n``)."""
    off = np.zeros(n + 2, dtype=np.int64)
    for v in range(n + 1):
        d = idom[v]
        if d >= 0:
            off[d + 1] += 1
    for i in range(n + 1):
        off[i + 1] += off[i]
    cursor = off[: n + 1].copy()
    kids = np.empty(off[n + 1], dtype=np.int32)
    for v in range(n + 1):
        d = idom[v]
        if d >= 0:
            kids[cursor[d]] = v
            cursor[d] += 1
    return off, kids


@njit(cache=True)
def class_retained(kid_off, kids, cls, ret, n, nclasses):  # type: ignore[no-untyped-def]
    """Retained bytes of each class's whole instance set: an instance counts only if no
    dominator above it is of the same class (walk the tree keeping per-class depth)."""
    out = np.zeros(nclasses, dtype=np.int64)
    active = np.zeros(nclasses, dtype=np.int32)
    stack_v = np.empty(n + 1, dtype=np.int32)
    stack_k = np.empty(n + 1, dtype=np.int64)
    sp = 0
    stack_v[0] = n
    stack_k[0] = kid_off[n]
    while sp >= 0:
        v = stack_v[sp]
        k = stack_k[sp]
        if k < kid_off[v + 1]:
            stack_k[sp] = k + 1
            w = kids[k]
            c = cls[w]
            if c >= 0:
                if active[c] == 0:
                    out[c] += ret[w]
                active[c] += 1
            sp += 1
            stack_v[sp] = w
            stack_k[sp] = kid_off[w]
        else:
            if v != n and cls[v] >= 0:
                active[cls[v]] -= 1
            sp -= 1
    return out
