"""Numbers as Prometheus writes and reads them: Go's float formatting, times, durations."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from opsplane.server.metrics.model import QueryError


def format_value(value: float) -> str:
    """Go's `strconv.FormatFloat(v, 'f', -1, 64)`, with Prometheus's spelling of specials.

    Shortest digits that round-trip (Python's repr finds the same digits), never an exponent.
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text:
        text = format(Decimal(text), "f")
    if text.endswith(".0"):
        text = text[:-2]
    return text


def format_values(values: npt.NDArray[np.float64]) -> list[str]:
    """`format_value` for a whole array: repr, except where repr would differ from Go's."""
    texts = [t[:-2] if t.endswith(".0") else t for t in map(repr, values.tolist())]
    magnitude = np.abs(values)
    # Non-finite values, and those repr writes with an exponent (< 1e-4 or >= 1e16).
    odd = ~np.isfinite(values) | ((magnitude < 1e-4) & (magnitude > 0)) | (magnitude >= 1e16)
    for i in np.flatnonzero(odd).tolist():
        texts[i] = format_value(float(values[i]))
    return texts


def format_time(ms: int) -> float | int:
    """A timestamp in seconds as JSON: an integer when whole, like Prometheus's writer."""
    if ms % 1000 == 0:
        return ms // 1000
    return ms / 1000


_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_INT64 = 2.0**63


def _bad(what: str, text: str, kind: str, extra: str = "") -> QueryError:
    return QueryError(
        f"invalid parameter {json.dumps(what)}: cannot parse {json.dumps(text)} "
        f"to a valid {kind}{extra}"
    )


def _go_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    # Go's ParseFloat refuses what Python's float() forgives.
    if text != text.strip() or "_" in text:
        return None
    return value


def parse_duration_ms(text: str, what: str) -> int:
    """Prometheus's duration parameter: float seconds, or `1h30m`-style units."""
    seconds = _go_float(text)
    if seconds is not None:
        nanos = seconds * 1e9
        if math.isnan(nanos) or abs(nanos) >= _INT64:
            raise _bad(what, text, "duration", ". It overflows int64")
        return int(nanos) // 1_000_000 if nanos >= 0 else -(int(-nanos) // 1_000_000)
    match = _DURATION.fullmatch(text)
    if not text or match is None or not any(match.groups()):
        raise _bad(what, text, "duration")
    return sum(
        int(part) * unit for part, unit in zip(match.groups(), _UNIT_MS, strict=True) if part
    )


def _round_half_away(value: float) -> int:
    return int(math.copysign(math.floor(abs(value) + 0.5), value))


def parse_time_ms(text: str, what: str) -> int:
    """Prometheus's time parameter: unix seconds (float) or RFC 3339."""
    seconds = _go_float(text)
    if seconds is not None:
        if math.isnan(seconds):
            raise _bad(what, text, "timestamp")
        seconds = max(min(seconds, 9.2e15), -9.2e15)
        whole = math.trunc(seconds)
        # Like Prometheus: whole seconds plus the fraction rounded to milliseconds.
        return int(whole) * 1000 + _round_half_away((seconds - whole) * 1000)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad(what, text, "timestamp") from None
    if parsed.tzinfo is None or "T" not in text.upper():
        raise _bad(what, text, "timestamp")
    return math.floor(parsed.timestamp() * 1000)
