"""The dominator kernels against a brute-force definition on random graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opsplane.heapdump import _dominators


def reachable(n: int, succ: list[list[int]], roots: list[int], removed: int) -> set[int]:
    seen = {r for r in roots if r != removed}
    todo = list(seen)
    while todo:
        v = todo.pop()
        for w in succ[v]:
            if w != removed and w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


def brute_force_idom(n: int, succ: list[list[int]], roots: list[int]) -> list[int]:
    """By definition: d dominates v when v is reachable but not without d; the
    immediate dominator is the strict dominator closest to v (dominated by all others)."""
    live = reachable(n, succ, roots, -1)
    doms = {v: {d for d in live if d != v and v not in reachable(n, succ, roots, d)} for v in live}
    idom = [-1] * n
    for v in live:
        strict = doms[v]
        closest = [d for d in strict if strict - {d} <= doms[d]]
        idom[v] = closest[0] if closest else n
    return idom


def kernel_idom(n: int, succ: list[list[int]], roots: list[int]) -> list[int]:
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in succ])
    edges = np.array([w for s in succ for w in s], dtype=np.int32)
    root_arr = np.array(sorted(set(roots)), dtype=np.int32)
    vertex, dfnum, parent = _dominators.dfs_preorder(offsets, edges, root_arr, n)
    is_root = np.zeros(n + 1, dtype=np.bool_)
    is_root[root_arr] = True
    poff, preds = _dominators.preds_in_preorder(offsets, edges, vertex, dfnum, is_root)
    parent_d = dfnum[parent[vertex]]
    parent_d[0] = 0
    idom_d = _dominators.lengauer_tarjan(poff, preds, parent_d)
    return _dominators.to_objects(idom_d, vertex, n)[:n].tolist()  # type: ignore[no-any-return]


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, list[list[int]], list[int]]:
    n = draw(st.integers(1, 14))
    succ = [draw(st.lists(st.integers(0, n - 1), max_size=4)) for _ in range(n)]
    roots = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=3))
    return n, succ, roots


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(graphs())
def test_lengauer_tarjan_matches_the_definition(
    graph: tuple[int, list[list[int]], list[int]],
) -> None:
    n, succ, roots = graph
    assert kernel_idom(n, succ, roots) == brute_force_idom(n, succ, roots)


def test_retained_sums_subtrees() -> None:
    # root -> 0 -> 1 -> 2, 0 -> 2: 0 retains all three, 1 only itself
    n, succ = 3, [[1, 2], [2], []]
    idom = np.array([*kernel_idom(n, succ, [0]), -1], dtype=np.int32)
    idom[idom == -1] = n
    idom[n] = -1
    vertex = np.array([n, 0, 1, 2], dtype=np.int32)
    ret, cnt = _dominators.retained(vertex, idom, np.array([10, 20, 40, 0]), n)
    assert ret.tolist() == [70, 20, 40, 70]
    assert cnt.tolist() == [3, 1, 1, 3]
