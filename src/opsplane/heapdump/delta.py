"""Difference of two dumps' class histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opsplane.heapdump.report import Report


@dataclass(frozen=True)
class HeapDiff:
    """Rows sorted by the absolute change in shallow bytes, biggest first."""

    rows: list[dict[str, Any]]
    old_summary: dict[str, int]
    new_summary: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old_summary, "new": self.new_summary, "classes": self.rows}


def diff_reports(old: Report, new: Report) -> HeapDiff:
    before = _by_class(old)
    after = _by_class(new)
    rows: list[dict[str, Any]] = []
    for name in sorted(before.keys() | after.keys()):
        oi, ob = before.get(name, (0, 0))
        ni, nb = after.get(name, (0, 0))
        if (oi, ob) == (ni, nb):
            continue
        rows.append(
            {
                "class": name,
                "old_instances": oi,
                "new_instances": ni,
                "instances_delta": ni - oi,
                "old_bytes": ob,
                "new_bytes": nb,
                "bytes_delta": nb - ob,
            }
        )
    rows.sort(key=lambda r: (-abs(r["bytes_delta"]), r["class"]))
    return HeapDiff(rows, old.summary, new.summary)


def _by_class(report: Report) -> dict[str, tuple[int, int]]:
    """Sum rows of same-named classes (one per class loader) into one."""
    out: dict[str, tuple[int, int]] = {}
    for row in report.histogram:
        i, b = out.get(row["class"], (0, 0))
        out[row["class"]] = (i + row["instances"], b + row["shallow_bytes"])
    return out
