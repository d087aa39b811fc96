"""A safe renderer for the subset of Go templates Prometheus rules commonly use.

Supported: `{{ $labels.x }}`, `{{ $value }}`, `{{ $externalLabels.x }}`, the `.Labels.x` /
`.Value` spellings, `{{- -}}` whitespace trimming, pipelines (`{{ $value | humanize }}`) and
the functions in FUNCTIONS. Anything else (`if`, `range`, `query`, ...) is refused when the
rule is saved, so a template can never run code or query the database.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<raw>`[^`]*`)|(?P<pipe>\|)'
    r"|(?P<num>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"|(?P<var>\$[A-Za-z_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"|(?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*))"
)


class TemplateError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class TemplateData:
    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str]


def go_float(value: float) -> str:
    """A float the way Go's `%v` prints it (100 -> "100", not "100.0")."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        digits = exp.lstrip("+-").rjust(2, "0")
        return f"{mantissa}e{sign}{digits}"
    return text


def _num(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise TemplateError(f"{value!r} is not a number") from None


def _si(value: Any, base: float, prefixes: tuple[str, ...]) -> str:
    v = _num(value)
    if v == 0 or math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    if abs(v) >= 1:
        prefix = ""
        for p in prefixes:
            if abs(v) < base:
                break
            prefix, v = p, v / base
        return f"{v:.4g}{prefix}"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1 or base != 1000:
            break
        prefix, v = p, v * 1000
    return f"{v:.4g}{prefix}"


def humanize(value: Any) -> str:
    return _si(value, 1000, ("k", "M", "G", "T", "P", "E", "Z", "Y"))


def humanize1024(value: Any) -> str:
    return _si(value, 1024, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"))


def humanize_percentage(value: Any) -> str:
    return f"{_num(value) * 100:.4g}%"


def humanize_duration(value: Any) -> str:
    v = _num(value)
    if math.isnan(v) or math.isinf(v):
        return f"{v:.4g}"
    if v == 0:
        return "0s"
    sign, v = ("-" if v < 0 else ""), abs(v)
    if v < 1:
        return f"{sign}{v * 1000:.4g}ms"
    days, rest = divmod(int(v), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, _ = divmod(rest, 60)
    seconds = v - days * 86400 - hours * 3600 - minutes * 60
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
        f"{seconds:.4g}s" if seconds else "",
    ]
    return sign + " ".join(p for p in parts if p)


def humanize_timestamp(value: Any) -> str:
    return datetime.fromtimestamp(_num(value), UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")


def printf(fmt: Any, *args: Any) -> str:
    """Go's printf for the verbs rules use (%s %d %f %g %e %x %v %q %%)."""
    converted = re.sub(r"%(-?\d*(?:\.\d+)?)v", r"%\1s", str(fmt))
    converted = re.sub(r"%(-?\d*(?:\.\d+)?)q", r'"%\1s"', converted)
    fixed = tuple(go_float(a) if isinstance(a, float) and "%s" in converted else a for a in args)
    try:
        return converted % fixed
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf {fmt!r}: {exc}") from None


def _title(value: Any) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in str(value).split(" "))


def _re_replace_all(pattern: Any, repl: Any, text: Any) -> str:
    go_repl = re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", str(repl))
    return re.sub(str(pattern), go_repl, str(text))


FUNCTIONS: dict[str, Callable[..., str]] = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
    "humanizeTimestamp": humanize_timestamp,
    "printf": printf,
    "toUpper": lambda v: str(v).upper(),
    "toLower": lambda v: str(v).lower(),
    "title": _title,
    "stripPort": lambda v: str(v).rsplit(":", 1)[0] if ":" in str(v) else str(v),
    "reReplaceAll": _re_replace_all,
    "safeHtml": str,
    "index": lambda m, k: m.get(str(k), "") if isinstance(m, Mapping) else "",
}


def _tokens(action: str) -> list[tuple[str, str]]:
    out, pos, action = [], 0, action.strip()
    while pos < len(action):
        found = _TOKEN.match(action, pos)
        if found is None or found.end() == pos:
            raise TemplateError(f"cannot read {action[pos:]!r} in {{{{ {action} }}}}")
        kind = found.lastgroup or ""
        out.append((kind, found.group(kind)))
        pos = found.end()
        while pos < len(action) and action[pos].isspace():
            pos += 1
    return out


def _operand(kind: str, text: str, data: TemplateData | None) -> Any:
    if kind == "str":
        try:  # Go's and JSON's string escapes agree on what rules use (\" \\ \n \t \u)
            return str(json.loads(text))
        except ValueError:
            raise TemplateError(f"cannot read the string {text}") from None
    if kind == "raw":
        return text[1:-1]
    if kind == "num":
        return float(text) if any(c in text for c in ".eE") else int(text)
    path = text.lstrip("$.").split(".") if text not in ("$", ".") else [""]
    root, rest = path[0], path[1:]
    roots = {
        "labels": "labels",
        "Labels": "labels",
        "value": "value",
        "Value": "value",
        "externalLabels": "external",
        "ExternalLabels": "external",
    }
    if root not in roots or (roots[root] == "value" and rest) or len(rest) > 1:
        raise TemplateError(f"unknown variable {text!r}: use $labels.x, $value, $externalLabels.x")
    if data is None:
        return 0.0 if roots[root] == "value" else {}
    if roots[root] == "value":
        return data.value
    mapping = data.labels if roots[root] == "labels" else data.external_labels
    return mapping.get(rest[0], "") if rest else dict(mapping)


def _command(
    tokens: list[tuple[str, str]], piped: Any, data: TemplateData | None, has_piped: bool
) -> Any:
    if not tokens:
        raise TemplateError("empty command in a pipeline")
    kind, text = tokens[0]
    if kind == "ident":
        if text not in FUNCTIONS:
            raise TemplateError(
                f"function {text!r} is not supported; use one of {', '.join(sorted(FUNCTIONS))}"
            )
        args = [_operand(k, t, data) for k, t in tokens[1:]]
        if has_piped:
            args.append(piped)
        if data is None:
            return ""
        try:
            return FUNCTIONS[text](*args)
        except TypeError as exc:
            raise TemplateError(f"{text}: {exc}") from None
    if len(tokens) > 1 or has_piped:
        raise TemplateError(f"{text!r} is not a function")
    return _operand(kind, text, data)


def _evaluate(action: str, data: TemplateData | None) -> str:
    tokens = _tokens(action)
    control = ("if", "else", "end", "range", "with", "define", "template", "block", "query")
    if tokens and tokens[0][0] == "ident" and tokens[0][1] in control:
        raise TemplateError(
            f"{{{{ {action.strip()} }}}} is not supported (no control flow or "
            "queries in opsplane templates)"
        )
    commands: list[list[tuple[str, str]]] = [[]]
    for kind, text in tokens:
        if kind == "pipe":
            commands.append([])
        else:
            commands[-1].append((kind, text))
    result: Any = None
    for i, command in enumerate(commands):
        result = _command(command, result, data, has_piped=i > 0)
    if isinstance(result, float):
        return go_float(result)
    if isinstance(result, dict):
        inner = " ".join(f"{k}:{v}" for k, v in sorted(result.items()))
        return f"map[{inner}]"
    return str(result)


def render(template: str, data: TemplateData) -> str:
    """Expand `template`; raises TemplateError if it uses something outside the subset."""
    out: list[str] = []
    pos = 0
    for found in _ACTION.finditer(template):
        literal = template[pos : found.start()]
        if found.group(1):
            literal = literal.rstrip()
        out.append(literal)
        out.append(_evaluate(found.group(2), data))
        pos = found.end()
        if found.group(3):
            while pos < len(template) and template[pos].isspace():
                pos += 1
    out.append(template[pos:])
    return "".join(out)


def validate(template: str) -> None:
    """Refuse a template outside the subset (checked when a rule is saved)."""
    if template.count("{{") != len(_ACTION.findall(template)):
        raise TemplateError(f"unbalanced {{{{ }}}} in {template!r}")
    for found in _ACTION.finditer(template):
        _evaluate(found.group(2), None)


def render_safely(template: str, data: TemplateData) -> str:
    """Like `render`, but a failing template yields its text plus the error (alerts must fire)."""
    try:
        return render(template, data)
    except (TemplateError, re.error) as exc:
        return f"{template} (template error: {exc})"
