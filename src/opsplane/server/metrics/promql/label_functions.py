"""label_replace and label_join, with Go's `Regexp.Expand` template rules."""

from __future__ import annotations

import re

from opsplane.server.metrics.model import QueryError
from opsplane.server.metrics.promql.labels import LabelSet, get, is_valid_name, with_label
from opsplane.server.metrics.promql.registry import CallInput, implements
from opsplane.server.metrics.promql.values import InstantVector, merge_same_labels

_NAME_CHARS = re.compile(r"[A-Za-z0-9_]+")


def _template_name(template: str, at: int) -> tuple[str, int] | None:
    """The group reference after a `$` at `at`: `name` or `{name}`, and where it ends."""
    if at < len(template) and template[at] == "{":
        found = _NAME_CHARS.match(template, at + 1)
        if not found or found.end() >= len(template) or template[found.end()] != "}":
            return None
        return found.group(), found.end() + 1
    found = _NAME_CHARS.match(template, at)
    return (found.group(), found.end()) if found else None


def _group(match: re.Match[str], name: str) -> str:
    # Digits name a group by number (no leading zeros); other names by name. Go expands an
    # unknown group to nothing, so "$1x" is the (missing) group "1x", not "$1" then "x".
    if name.isdigit() and (name == "0" or not name.startswith("0")):
        index = int(name)
        return (match.group(index) or "") if index <= (match.re.groups or 0) else ""
    if name in match.re.groupindex:
        return match.group(name) or ""
    return ""


def go_expand(template: str, match: re.Match[str]) -> str:
    """Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$` for a dollar."""
    out: list[str] = []
    i = 0
    while True:
        dollar = template.find("$", i)
        if dollar < 0:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:dollar])
        if template.startswith("$$", dollar):
            out.append("$")
            i = dollar + 2
            continue
        ref = _template_name(template, dollar + 1)
        if ref is None:
            out.append("$")  # malformed: the dollar is literal text
            i = dollar + 1
            continue
        out.append(_group(match, ref[0]))
        i = ref[1]


def _replace(labels: LabelSet, regex: re.Pattern[str], src: str, dst: str, tmpl: str) -> LabelSet:
    match = regex.fullmatch(get(labels, src))
    if match is None:
        return labels
    return with_label(labels, dst, go_expand(tmpl, match))


@implements("label_replace")
def label_replace(inp: CallInput) -> InstantVector:
    vec = inp.vector(0)
    dst, replacement, src, pattern = (inp.string(i) for i in range(1, 5))
    try:
        regex = re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise QueryError(
            f"invalid regular expression in label_replace(): {pattern}", error_type="execution"
        ) from exc
    if not is_valid_name(dst):
        raise QueryError(
            f"invalid destination label name in label_replace(): {dst}", error_type="execution"
        )
    labels = [_replace(ls, regex, src, dst, replacement) for ls in vec.labels]
    return merge_same_labels(InstantVector(labels, vec.values, vec.present))


@implements("label_join")
def label_join(inp: CallInput) -> InstantVector:
    vec = inp.vector(0)
    dst, separator = inp.string(1), inp.string(2)
    sources = [inp.string(i) for i in range(3, len(inp.args))]
    for name in sources:
        if not is_valid_name(name):
            raise QueryError(f"invalid source label name in label_join(): {name}",
                             error_type="execution")  # fmt: skip
    if not is_valid_name(dst):
        raise QueryError(f"invalid destination label name in label_join(): {dst}",
                         error_type="execution")  # fmt: skip
    labels = [
        with_label(ls, dst, separator.join(get(ls, name) for name in sources)) for ls in vec.labels
    ]
    return merge_same_labels(InstantVector(labels, vec.values, vec.present))
