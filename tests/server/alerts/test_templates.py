"""The Go-template subset: what Prometheus users write in labels and annotations."""

from __future__ import annotations

import pytest

from opsplane.server.alerts.templates import (
    TemplateData,
    TemplateError,
    go_float,
    humanize,
    humanize_duration,
    render,
    render_safely,
    validate,
)

DATA = TemplateData(
    labels={"instance": "web-1:9100", "job": "node"},
    value=95.5,
    external_labels={"cluster": "prod"},
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ $labels.instance }} is down", "web-1:9100 is down"),
        ("value {{ $value }}", "value 95.5"),
        ("{{ .Labels.job }}/{{ .Value }}", "node/95.5"),
        ("{{ $externalLabels.cluster }}", "prod"),
        ("{{ $labels.missing }}", ""),
        ("{{ $value | humanize }}", "95.5"),
        ("{{ humanize $value }}", "95.5"),
        ('{{ printf "%.1f" $value }}%', "95.5%"),
        ('{{ printf "%.0f" $value }}', "96"),
        ("{{ $labels.instance | stripPort | toUpper }}", "WEB-1"),
        ("a  {{- $labels.job -}}  b", "anodeb"),
        ('{{ reReplaceAll "-(\\\\d)" ".$1" $labels.instance }}', "web.1:9100"),
        ("{{ $labels.job | title }}", "Node"),
        ("no actions", "no actions"),
        ('{{ printf "温度 %.1f°C" $value }} 节点 {{ $labels.job }}', "温度 95.5°C 节点 node"),
        ('{{ printf "a\\tb %s" "x" }}', "a\tb x"),
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render(template, DATA) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (100.0, "100"),
        (0.25, "0.25"),
        (1e21, "1e+21"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
        (-3.0, "-3"),
    ],
)
def test_go_float_prints_like_go(value: float, expected: str) -> None:
    assert go_float(value) == expected


def test_humanize_uses_si_prefixes() -> None:
    assert humanize(1234567) == "1.235M"
    assert humanize(0.001234) == "1.234m"
    assert humanize(0) == "0"


def test_humanize_duration() -> None:
    assert humanize_duration(90061) == "1d 1h 1m 1s"
    assert humanize_duration(0.25) == "250ms"


@pytest.mark.parametrize(
    "template",
    [
        "{{ if gt $value 1.0 }}high{{ end }}",
        '{{ query "up" }}',
        "{{ $foo }}",
        "{{ exec }}",
        "{{ $labels.a",
        "{{ range $labels }}x{{ end }}",
    ],
)
def test_refuses_what_is_outside_the_subset(template: str) -> None:
    with pytest.raises(TemplateError):
        validate(template)


def test_render_safely_keeps_alerts_firing_on_a_bad_template() -> None:
    assert "template error" in render_safely('{{ printf "%d" "x" }}', DATA)
