"""Exact dominators: MAT's Lengauer-Tarjan fixture and graphs built in a real JVM."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from opsplane.heapdump import dominators
from opsplane.heapdump.graph import build_graph
from opsplane.heapdump.heap import Heap, load
from opsplane.heapdump.objects import instances_of, int_field

from .conftest import ScenarioDump, fixture

MAT_PREFIX = "org.eclipse.mat.tests.CreateSampleDump$DominatorTestData$"


@dataclass
class Analysed:
    heap: Heap
    tree: dominators.DominatorTree

    def by_id(self, cls: str) -> dict[int, int]:
        """Instances of ``cls`` keyed by their ``id`` int field."""
        ci = self.heap.classes.find(cls)
        objs = instances_of(self.heap, ci)
        ids = int_field(self.heap, objs, ci, "id")
        assert ids is not None
        return dict(zip(ids.tolist(), objs.tolist(), strict=True))

    def only(self, cls: str) -> int:
        objs = instances_of(self.heap, self.heap.classes.find(cls))
        assert objs.shape[0] == 1, cls
        return int(objs[0])

    def idom(self, obj: int) -> int:
        return int(self.tree.idom[obj])

    def retained_set(self, obj: int) -> set[int]:
        out, todo = set(), [obj]
        while todo:
            v = todo.pop()
            out.add(v)
            todo.extend(int(k) for k in self.tree.children(v))
        return out


def analyse(path: object) -> Iterator[Analysed]:
    heap = load(path)  # type: ignore[arg-type]
    try:
        build_graph(heap, lambda _p, _f: None)
        yield Analysed(heap, dominators.compute(heap))
    finally:
        heap.close()


@pytest.fixture(scope="module")
def mat_graph() -> Iterator[Analysed]:
    yield from analyse(fixture("sun_jdk6_32bit.hprof"))


@pytest.fixture(scope="module")
def jvm(scenario_dump: ScenarioDump) -> Iterator[Analysed]:
    yield from analyse(scenario_dump.path)


def test_lengauer_tarjan_example_graph(mat_graph: Analysed) -> None:
    obj = {name: mat_graph.only(MAT_PREFIX + name) for name in "ABCDEFGHIJKLR"}
    r = obj["R"]
    dominated_by_r = {n for n, o in obj.items() if mat_graph.idom(o) == r}
    assert dominated_by_r == set("ABCDEHIK")
    assert mat_graph.idom(obj["F"]) == obj["C"]
    assert mat_graph.idom(obj["G"]) == obj["C"]
    assert mat_graph.idom(obj["L"]) == obj["D"]
    assert mat_graph.idom(obj["J"]) == obj["G"]


def test_r_retains_13_objects_and_224_bytes(mat_graph: Analysed) -> None:
    r = mat_graph.only(MAT_PREFIX + "R")
    assert mat_graph.tree.retained_count[r] == 13
    assert mat_graph.tree.retained[r] == 224
    assert len(mat_graph.retained_set(r)) == 13


def test_diamond(jvm: Analysed) -> None:
    n = jvm.by_id("Scenarios$Node")
    for k in (2, 3, 4):
        assert jvm.idom(n[k]) == n[1]
    assert jvm.retained_set(n[1]) == {n[1], n[2], n[3], n[4]}
    assert jvm.retained_set(n[2]) == {n[2]}


def test_cycle_is_dominated_by_its_entry(jvm: Analysed) -> None:
    n = jvm.by_id("Scenarios$Node")
    holder = jvm.idom(n[10])
    assert (
        jvm.heap.obj_id[holder] == jvm.heap.classes.infos[jvm.heap.classes.find("Scenarios")].cid
    )  # the static field's class object
    assert jvm.idom(n[11]) == n[10]
    assert jvm.idom(n[12]) == n[11]
    assert jvm.idom(n[13]) == n[12]
    assert jvm.retained_set(n[10]) == {n[10], n[11], n[12], n[13]}


def test_long_linked_list(jvm: Analysed) -> None:
    links = jvm.by_id("Scenarios$Link")
    assert len(links) == 200_000
    ids = np.arange(1, 200_000)
    objs = np.array([links[i] for i in ids])
    prev = np.array([links[i - 1] for i in ids])
    assert np.array_equal(jvm.tree.idom[objs], prev)
    head = links[0]
    assert jvm.tree.retained_count[head] == 200_000
    assert jvm.tree.retained[head] == 200_000 * jvm.heap.shallow[head]


def test_static_cache_retains_exactly_its_entries(jvm: Analysed) -> None:
    cache_class = jvm.heap.classes.find("Scenarios$Cache")
    maps = [
        o
        for o in jvm.tree.children(
            int(jvm.heap.index.lookup(np.array([jvm.heap.classes.infos[cache_class].cid]))[0])
        )
        if jvm.heap.class_name(int(o)) == "java.util.HashMap"
    ]
    assert len(maps) == 1
    retained = jvm.retained_set(int(maps[0]))
    names = [jvm.heap.class_name(o) for o in retained]
    # the map, its table, and per entry a Node, an Integer key and a byte[10000] value
    assert sorted(set(names)) == [
        "byte[]",
        "java.lang.Integer",
        "java.util.HashMap",
        "java.util.HashMap$Node",
        "java.util.HashMap$Node[]",
    ]
    assert names.count("byte[]") == names.count("java.lang.Integer") == 2000
    assert names.count("java.util.HashMap$Node") == 2000
    assert len(retained) == 6002


def test_thread_local_payload_is_retained_by_its_thread(jvm: Analysed) -> None:
    payload = jvm.by_id("Scenarios$Payload")[77]
    entry = jvm.idom(payload)
    assert jvm.heap.class_name(entry) == "java.lang.ThreadLocal$ThreadLocalMap$Entry"
    chain = [entry]
    while chain[-1] < jvm.heap.n:
        chain.append(jvm.idom(chain[-1]))
    assert [jvm.heap.class_name(v) for v in chain[:4]] == [
        "java.lang.ThreadLocal$ThreadLocalMap$Entry",
        "java.lang.ThreadLocal$ThreadLocalMap$Entry[]",
        "java.lang.ThreadLocal$ThreadLocalMap",
        "java.lang.Thread",
    ]
    thread = chain[3]
    assert {payload, entry} <= jvm.retained_set(thread)
    assert jvm.tree.retained[thread] >= (1 << 20) + jvm.tree.retained[payload] - (1 << 20)
