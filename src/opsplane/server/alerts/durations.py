"""Prometheus durations (`1h30m`, `5m`, `500ms`, `1d`) to seconds and back."""

from __future__ import annotations

import re

_UNITS = {
    "y": 365 * 86400.0,
    "w": 7 * 86400.0,
    "d": 86400.0,
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 0.001,
}
_PART = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")


class DurationError(ValueError):
    pass


def parse_duration(text: str | int | float) -> float:
    """Seconds in a Prometheus duration; a bare number is taken as seconds."""
    if isinstance(text, int | float):
        if text < 0:
            raise DurationError("a duration cannot be negative")
        return float(text)
    text = text.strip()
    if text in ("", "0"):
        return 0.0
    pos, total, last_rank = 0, 0.0, -1
    order = list(_UNITS)
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        rank = order.index(match.group(2))
        if rank <= last_rank:
            raise DurationError(f"duration {text!r}: units must go from largest to smallest")
        last_rank = rank
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text):
        raise DurationError(f"{text!r} is not a duration like 30s, 5m, 1h30m")
    return total


def format_duration(seconds: float) -> str:
    """The shortest Prometheus spelling (`90` -> `1m30s`, `0` -> `0s`)."""
    if seconds <= 0:
        return "0s"
    ms = round(seconds * 1000)
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        size = round(_UNITS[unit] * 1000)
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
