"""What an analysis backend hands back to the pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class AnalysisOutcome:
    ok: bool
    report: dict[str, Any] | None = None  # opsplane.heapdump's JSON schema, when known
    html: Path | None = None  # a local report.html to store
    html_bytes: bytes | None = None  # or its content (fetched from Jenkins)
    json: Path | None = None
    external_url: str | None = None
    error: str | None = None
    error_type: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def failed(error: str, error_type: str, **details: Any) -> AnalysisOutcome:
    return AnalysisOutcome(False, error=error, error_type=error_type, details=details)
