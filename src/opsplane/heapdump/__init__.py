"""Standalone HPROF heap-dump analyzer (imports nothing from server or agent).

Public API::

    report = analyze("app.hprof", progress=lambda phase, frac: ..., top=25)
    report.to_dict()                      # documented JSON schema
    write_report(report, "out/", formats=("html", "json"))
    diff("before.hprof", "after.hprof")   # per-class deltas

numpy and numba are imported on first use of these functions, so importing the
package stays cheap for the bare agent install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opsplane.heapdump.errors import HeapDumpError

if TYPE_CHECKING:
    from opsplane.heapdump.api import analyze, diff, write_report
    from opsplane.heapdump.delta import HeapDiff
    from opsplane.heapdump.report import Report

__all__ = ["HeapDiff", "HeapDumpError", "Report", "analyze", "diff", "write_report"]
_LAZY = {
    "analyze": "api",
    "diff": "api",
    "write_report": "api",
    "HeapDiff": "delta",
    "Report": "report",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f"opsplane.heapdump.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(name)
