"""The threshold builder's PromQL, fast-path detection, durations and label helpers."""

from __future__ import annotations

import pytest

from opsplane.server.alerts.builder import compile_threshold, fast_path_of, parse_expr
from opsplane.server.alerts.durations import DurationError, format_duration, parse_duration
from opsplane.server.alerts.labels import fingerprint, parse_matcher
from opsplane.server.errors import Invalid


def test_compile_threshold_scopes_by_labels_and_nodes() -> None:
    expr, eval_expr = compile_threshold(
        {
            "metric": "host_cpu_percent",
            "labels": {"env": "prod"},
            "nodes": ["web-1", "db.1"],
            "operator": ">=",
            "threshold": 90.0,
        }
    )
    assert expr == eval_expr == 'host_cpu_percent{env="prod",node=~"web\\\\-1|db\\\\.1"} >= 90'
    parse_expr(expr)
    fast = fast_path_of(expr)
    assert fast is not None
    assert fast.selects("host_cpu_percent", {"env": "prod", "node": "db.1"})
    assert not fast.selects("host_cpu_percent", {"env": "prod", "node": "dbx1"})


def test_compile_threshold_with_hysteresis() -> None:
    expr, eval_expr = compile_threshold(
        {"metric": "m", "nodes": ["a"], "operator": "<", "threshold": 10, "clear_threshold": 20.5}
    )
    assert (expr, eval_expr) == ('m{node="a"} < 10', 'm{node="a"} < 20.5')
    with pytest.raises(Invalid):
        compile_threshold({"metric": "m", "operator": "<", "threshold": 10, "clear_threshold": 5})


def test_compile_threshold_escapes_label_values() -> None:
    expr, _ = compile_threshold(
        {"metric": "m", "labels": {"path": 'a"b\\c'}, "operator": ">", "threshold": 1}
    )
    assert expr == 'm{path="a\\"b\\\\c"} > 1'
    fast = fast_path_of(expr)
    assert fast is not None
    assert fast.selects("m", {"path": 'a"b\\c'})


@pytest.mark.parametrize(
    ("expr", "op", "threshold"),
    [
        ("up == 0", "==", 0.0),
        ("(cpu) > 90", ">", 90.0),
        ("90 < cpu", ">", 90.0),
        ("5 >= disk_free", "<=", 5.0),
    ],
)
def test_fast_path_detection(expr: str, op: str, threshold: float) -> None:
    fast = fast_path_of(expr)
    assert fast is not None
    assert (fast.op, fast.threshold) == (op, threshold)


@pytest.mark.parametrize(
    "expr",
    [
        "rate(cpu[1m]) > 1",
        "cpu > bool 90",
        "cpu offset 5m > 1",
        "sum(cpu) > 1",
        "cpu > cpu2",
        "cpu",
        "cpu @ 100 > 1",
    ],
)
def test_not_fast_path(expr: str) -> None:
    assert fast_path_of(expr) is None


def test_bad_promql_is_invalid() -> None:
    with pytest.raises(Invalid) as err:
        parse_expr("cpu{")
    assert err.value.code == "bad_expr"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("1d", 86400),
        ("500ms", 0.5),
        ("0", 0),
        (45, 45),
    ],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_duration_round_trip_and_errors() -> None:
    assert format_duration(5400) == "1h30m"
    assert format_duration(0.5) == "500ms"
    assert format_duration(0) == "0s"
    for bad in ("5", "m5", "5m1h", "1x"):
        if bad == "5":
            continue
        with pytest.raises(DurationError):
            parse_duration(bad)


def test_fingerprint_ignores_order_and_matchers_parse() -> None:
    assert fingerprint({"a": "1", "b": "2"}) == fingerprint({"b": "2", "a": "1"})
    assert fingerprint({"a": "1"}) != fingerprint({"a": "2"})
    m = parse_matcher('env=~"prod|staging"')
    assert (m.name, m.op, m.value) == ("env", "=~", "prod|staging")
    assert m.matches("prod")
    assert not m.matches("production")
