"""diff() on reports and paths."""

from __future__ import annotations

from opsplane.heapdump import Report, analyze, diff

from .conftest import fixture


def test_diff_of_reports_counts_and_bytes() -> None:
    old = Report(
        {"objects": 3},
        [
            {"class": "A", "instances": 2, "shallow_bytes": 32, "retained_bytes": None},
            {"class": "B", "instances": 1, "shallow_bytes": 16, "retained_bytes": None},
        ],
    )
    new = Report(
        {"objects": 4},
        [
            {"class": "A", "instances": 1, "shallow_bytes": 16, "retained_bytes": None},
            {"class": "C", "instances": 3, "shallow_bytes": 96, "retained_bytes": None},
            {"class": "B", "instances": 1, "shallow_bytes": 16, "retained_bytes": None},
        ],
    )
    rows = diff(old, new).rows
    assert [(r["class"], r["instances_delta"], r["bytes_delta"]) for r in rows] == [
        ("C", 3, 96),
        ("A", -1, -16),
    ]


def test_diff_accepts_paths_and_reports() -> None:
    path = fixture("sun_jdk6_32bit.hprof")
    assert diff(path, analyze(path, histogram_only=True)).rows == []
