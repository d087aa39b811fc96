"""Go's float formatting and Prometheus's time and duration parameters."""

from __future__ import annotations

import math

import pytest

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.format import (
    format_time,
    format_value,
    parse_duration_ms,
    parse_time_ms,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "0.00000015"),
        (1 / 3, "0.3333333333333333"),
        (-0.0, "-0"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
        (123456789.125, "123456789.125"),
    ],
)
def test_values_format_like_go_strconv_f_minus_one(value: float, text: str) -> None:
    assert format_value(value) == text


def test_times_are_seconds_and_whole_seconds_have_no_fraction() -> None:
    assert format_time(1_700_000_000_000) == 1_700_000_000
    assert format_time(1_700_000_000_250) == 1_700_000_000.25


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1700000000", 1_700_000_000_000),
        ("1700000000.1234", 1_700_000_000_123),
        ("1700000000.9996", 1_700_000_001_000),
        ("2023-11-14T22:13:20Z", 1_700_000_000_000),
        ("2023-11-14T22:13:20.5+00:00", 1_700_000_000_500),
        ("-1.5", -1500),
    ],
)
def test_time_parameters(text: str, ms: int) -> None:
    assert parse_time_ms(text, "time") == ms


@pytest.mark.parametrize("text", ["", "yesterday", "2023-11-14", " 17", "1_000", "NaN"])
def test_bad_time_parameters_name_the_parameter(text: str) -> None:
    with pytest.raises(QueryError, match='invalid parameter "start": cannot parse') as caught:
        parse_time_ms(text, "start")
    assert caught.value.error_type == "bad_data"


@pytest.mark.parametrize(
    ("text", "ms"),
    [("15", 15_000), ("0.5", 500), ("5m", 300_000), ("1h30m", 5_400_000), ("1d", 86_400_000),
     ("100ms", 100), ("2w", 1_209_600_000)],
)  # fmt: skip
def test_duration_parameters(text: str, ms: int) -> None:
    assert parse_duration_ms(text, "step") == ms


@pytest.mark.parametrize("text", ["", "5x", "m", "1e300", "1.5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(QueryError, match='invalid parameter "step"'):
        parse_duration_ms(text, "step")
