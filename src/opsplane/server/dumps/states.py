"""The file state machine and the names of steps, step states and retry types."""

from __future__ import annotations

import enum

from opsplane.server.errors import Conflict


class FileState(enum.StrEnum):
    created = "created"
    uploading = "uploading"
    uploaded = "uploaded"
    analyzing = "analyzing"
    analyzed = "analyzed"
    failed = "failed"


class Step(enum.StrEnum):
    upload = "upload"
    analysis = "analysis"
    ai_analysis = "ai_analysis"
    report = "report"


class StepState(enum.StrEnum):
    pending = "pending"
    running = "running"
    success = "success"
    failed = "failed"


class RetryState(enum.StrEnum):
    pending = "pending"  # waiting for its next attempt
    running = "running"
    succeeded = "succeeded"
    exhausted = "exhausted"
    cancelled = "cancelled"


RETRYABLE = (Step.upload, Step.analysis, Step.ai_analysis)

# created -> uploading -> uploaded -> analyzing -> analyzed, or failed from any step; a
# failed file goes back to the step being retried. `analyzed -> analyzing` is a re-analysis.
_NEXT: dict[FileState, frozenset[FileState]] = {
    FileState.created: frozenset({FileState.uploading, FileState.uploaded, FileState.failed}),
    FileState.uploading: frozenset({FileState.uploaded, FileState.failed}),
    FileState.uploaded: frozenset({FileState.analyzing, FileState.failed}),
    FileState.analyzing: frozenset({FileState.analyzed, FileState.failed}),
    FileState.analyzed: frozenset({FileState.analyzing}),
    FileState.failed: frozenset({FileState.uploading, FileState.uploaded, FileState.analyzing}),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def can_move(old: FileState, new: FileState) -> bool:
    return new in _NEXT[old]


def check_move(old: FileState, new: FileState) -> None:
    """IllegalTransition (409) unless the state machine allows old -> new."""
    if not can_move(old, new):
        allowed = sorted(s.value for s in _NEXT[old])
        raise IllegalTransition(
            f"a file cannot go from {old.value} to {new.value}",
            details={"from": old.value, "to": new.value, "allowed": allowed},
        )
