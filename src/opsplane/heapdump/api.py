"""Public entry points: analyze, write_report, diff."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from opsplane.heapdump import dominators
from opsplane.heapdump.delta import HeapDiff, diff_reports
from opsplane.heapdump.graph import build_graph
from opsplane.heapdump.heap import load
from opsplane.heapdump.html_report import render_html
from opsplane.heapdump.report import Report, build

FORMATS = ("html", "json")


def analyze(
    path: str | os.PathLike[str],
    *,
    progress: Callable[[str, float], None] | None = None,
    top: int = 25,
    histogram_only: bool = False,
) -> Report:
    """Analyse an HPROF heap dump (plain or gzip).

    Args:
        path: the dump file.
        progress: called as ``progress(phase, fraction)`` with phases ``parse``,
            ``graph``, ``dominators`` and ``report``; fraction runs 0.0..1.0 per phase.
        top: how many rows to keep in the ranked lists (dominators, strings, ...).
        histogram_only: stop after the class histogram (no graph, no retained sizes).

    Raises:
        HeapDumpError: the file is not HPROF, is corrupt or is truncated mid-record.
    """
    report = progress or (lambda _p, _f: None)
    started = time.perf_counter()
    heap = load(path, report)
    try:
        tree = None
        if not histogram_only:
            build_graph(heap, report)
            report("dominators", 0.0)
            tree = dominators.compute(heap)
            report("dominators", 1.0)
        report("report", 0.0)
        result = build(heap, tree, top)
        result.details["seconds"] = round(time.perf_counter() - started, 3)
        report("report", 1.0)
        return result
    finally:
        heap.close()


def write_report(
    report: Report, out_dir: str | os.PathLike[str], formats: Iterable[str] = FORMATS
) -> list[Path]:
    """Write ``report.html`` / ``report.json`` into ``out_dir`` (atomically, via rename).

    Returns the written paths. Raises ValueError for an unknown format.
    """
    wanted = list(formats)
    unknown = set(wanted) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown report format(s): {', '.join(sorted(unknown))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in wanted:
        text = (
            render_html(report)
            if fmt == "html"
            else json.dumps(report.to_dict(), indent=1, ensure_ascii=False)
        )
        written.append(_write_atomic(out / f"report.{fmt}", text))
    return written


def _write_atomic(target: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def diff(old: Report | str | os.PathLike[str], new: Report | str | os.PathLike[str]) -> HeapDiff:
    """Per-class change in instances and shallow bytes from ``old`` to ``new``.

    Paths are analysed histogram-only; pass Reports to reuse earlier analyses.
    """
    return diff_reports(_as_report(old), _as_report(new))


def _as_report(x: Report | str | os.PathLike[str]) -> Report:
    return x if isinstance(x, Report) else analyze(x, histogram_only=True)
