"""analyze(): progress phases and histogram-only mode."""

from __future__ import annotations

from opsplane.heapdump import analyze

from .conftest import fixture


def test_progress_reports_each_phase_in_order() -> None:
    calls: list[tuple[str, float]] = []
    analyze(fixture("sun_jdk6_32bit.hprof"), progress=lambda p, f: calls.append((p, f)))
    phases = list(dict.fromkeys(p for p, _ in calls))
    assert phases == ["parse", "graph", "dominators", "report"]
    assert all(0.0 <= f <= 1.0 for _, f in calls)
    assert ("report", 1.0) in calls


def test_histogram_only_skips_the_graph() -> None:
    calls: list[str] = []
    report = analyze(
        fixture("sun_jdk6_32bit.hprof"), histogram_only=True, progress=lambda p, _f: calls.append(p)
    )
    assert "graph" not in calls
    assert report.dominators == []
    assert report.leak_suspects == []
    assert sum(r["instances"] for r in report.histogram) == report.summary["objects"]


def test_top_bounds_ranked_lists() -> None:
    report = analyze(fixture("sun_jdk6_18_x64.hprof"), top=3)
    assert len(report.dominators) == 3
    assert len(report.duplicate_strings) == 3
