"""The report on a real JVM's dump: histogram against jmap, suspects, threads, JSON."""

from __future__ import annotations

import json

import pytest

from opsplane.heapdump import Report, analyze, write_report
from opsplane.heapdump.report import JSON_KEYS
from opsplane.heapdump.symbols import java_name

from .conftest import ScenarioDump, fixture

OWN_CLASSES = {
    "Scenarios",
    "Scenarios$Node",
    "Scenarios$Link",
    "Scenarios$Payload",
    "Scenarios$Cache",
}


@pytest.fixture(scope="module")
def report(scenario_dump: ScenarioDump) -> Report:
    return analyze(scenario_dump.path)


def counts_by_name(report: Report) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in report.histogram:
        out[row["class"]] = out.get(row["class"], 0) + row["instances"]
    return out


def test_histogram_matches_jmap_histo_live(scenario_dump: ScenarioDump, report: Report) -> None:
    """Every class both list has jmap's count, for classes the attach did not disturb.

    jmap -histo:live ran right before and right after the dump. A class whose count is
    the same in both was not touched by the attach machinery in between, so the dump
    must hold exactly that many. Our own classes must be stable and equal.
    """
    # hidden (lambda) classes: jmap prints Foo$$Lambda$1/0x.., the dump Foo$$Lambda$1+0x..
    ours = {k.replace("+0x", ".0x"): v for k, v in counts_by_name(report).items()}
    before = {java_name(k): v for k, v in scenario_dump.histo_before.items()}
    after = {java_name(k): v for k, v in scenario_dump.histo_after.items()}
    stable = {k: v for k, v in before.items() if after.get(k) == v}
    compared = {k for k in stable if k in ours}
    mismatched = {k: (stable[k], ours[k]) for k in compared if stable[k] != ours[k]}
    assert mismatched == {}
    assert OWN_CLASSES - {"Scenarios", "Scenarios$Cache"} <= compared
    assert any("$$Lambda$" in k for k in compared)
    assert len(compared) > 200  # the JDK classes of an idle JVM, not a handful
    assert ours["Scenarios$Link"] == 200_000


def test_planted_cache_is_first_leak_suspect(report: Report) -> None:
    first = report.leak_suspects[0]
    assert first["retained_bytes"] >= 2000 * 10_000
    assert first["accumulation_point"]["class"] == "java.util.HashMap$Node[]"
    path = [step["class"] for step in first["path_to_root"]]
    assert "gc_root" in first["path_to_root"][-1]
    assert path[0] == "java.util.HashMap$Node[]"
    assert path[1:3] == ["java.util.HashMap", "java.lang.Class"]
    assert first["path_to_root"][0]["referenced_by"] == "table"
    assert first["path_to_root"][1]["referenced_by"] == "static MAP"


def test_thread_overview_names_the_leaking_thread(report: Report) -> None:
    threads = {t["name"]: t for t in report.threads}
    leaker = threads["tl-leaker"]
    assert leaker["retained_bytes"] >= 1 << 20
    assert any("java.lang.Thread.sleep" in f for f in leaker["frames"])
    assert any("Scenarios.lambda$startLeakyThread" in f for f in leaker["frames"])


def test_json_has_exactly_the_documented_keys(report: Report, tmp_path: object) -> None:
    data = report.to_dict()
    assert tuple(data) == JSON_KEYS
    assert set(data["summary"]) == {
        "file_bytes",
        "id_size",
        "objects",
        "classes",
        "gc_roots",
        "heap_bytes",
    }
    assert set(data["histogram"][0]) == {"class", "instances", "shallow_bytes", "retained_bytes"}
    assert set(data["dominators"][0]) == {
        "object_id",
        "class",
        "shallow_bytes",
        "retained_bytes",
        "retained_objects",
    }
    assert {
        "kind",
        "class",
        "retained_bytes",
        "heap_fraction",
        "accumulation_point",
        "path_to_root",
    } <= set(data["leak_suspects"][0])
    json.dumps(data)


def test_write_report_is_self_contained(report: Report, tmp_path: pytest.TempPathFactory) -> None:
    html, js = write_report(report, tmp_path, formats=("html", "json"))  # type: ignore[arg-type]
    text = html.read_text()
    assert "<svg" in text
    assert "sortable" in text
    assert "tl-leaker" in text
    assert "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text
    assert "src=" not in text
    assert "<link" not in text
    assert json.loads(js.read_text()) == json.loads(json.dumps(report.to_dict()))


def test_write_report_rejects_unknown_format(report: Report, tmp_path: object) -> None:
    with pytest.raises(ValueError, match="pdf"):
        write_report(report, tmp_path, formats=("pdf",))  # type: ignore[arg-type]


def test_duplicate_strings_and_collections_on_fixture() -> None:
    r = analyze(fixture("oracle_jdk8_05_x64.hprof"))
    top = r.duplicate_strings[0]
    assert top["count"] > 1
    assert top["wasted_bytes"] > 0
    assert top["value"]
    assert any(c["class"] == "java.util.HashMap" and c["empty"] > 0 for c in r.collections)
    assert r.threads[0]["name"] == "main" or any(t["name"] == "main" for t in r.threads)
