"""Path templates: `/data/dumps/{namespace}/{app}/*.hprof` -> metadata of a matching file.

A placeholder `{name}` matches one path segment (or part of one) and becomes metadata;
`*` and `?` are glob wildcards within a segment, `**` spans segments, `{{` and `}}` are
literal braces. A relative template is matched against the path below the watched root.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WILDCARDS = {"**": ".*", "*": "[^/]*", "?": "[^/]"}


class TemplateError(ValueError):
    """A template that cannot be parsed; the message says where."""


class PathTemplate:
    """A compiled path template.

    Args:
        template: The template text, e.g. `/data/dumps/{namespace}/{app}/*.hprof`.
    """

    def __init__(self, template: str) -> None:
        if not template:
            raise TemplateError("path template is empty")
        self.template = template
        self.names: tuple[str, ...] = ()
        self._regex = re.compile(self._translate(template))

    @property
    def absolute(self) -> bool:
        return self.template.startswith("/")

    def root(self) -> str | None:
        """The fixed directory an absolute template starts with (where to scan), else None."""
        if not self.absolute:
            return None
        fixed: list[str] = []
        for part in PurePosixPath(self.template).parts[:-1]:
            if any(char in part for char in "{}*?["):
                break
            fixed.append(part)
        return str(PurePosixPath(*fixed)) if fixed else "/"

    def match(self, path: str, root: str) -> dict[str, str] | None:
        """The placeholders' values for `path` (found under `root`); None: it does not fit."""
        subject = path if self.absolute else _relative(path, root)
        if subject is None:
            return None
        found = self._regex.fullmatch(subject)
        return None if found is None else found.groupdict()

    def _translate(self, template: str) -> str:
        pattern: list[str] = []
        names: list[str] = []
        i = 0
        while i < len(template):
            piece, i = self._token(template, i, names)
            pattern.append(piece)
        self.names = tuple(names)
        return "".join(pattern)

    def _token(self, text: str, i: int, names: list[str]) -> tuple[str, int]:
        """One regex piece for the token starting at `text[i]`, and where the next one starts."""
        if text.startswith(("{{", "}}"), i):
            return re.escape(text[i]), i + 2
        if text[i] == "{":
            end = text.find("}", i)
            if end < 0:
                raise TemplateError(f"unclosed '{{' at position {i} in {text!r}")
            return self._placeholder(text[i + 1 : end], names), end + 1
        if text[i] == "}":
            raise TemplateError(f"unmatched '}}' at position {i} in {text!r}")
        for wildcard, regex in _WILDCARDS.items():
            if text.startswith(wildcard, i):
                return regex, i + len(wildcard)
        return re.escape(text[i]), i + 1

    @staticmethod
    def _placeholder(name: str, names: list[str]) -> str:
        if not _NAME.fullmatch(name):
            raise TemplateError(f"bad placeholder {{{name}}}: use letters, digits and _")
        if name in names:
            raise TemplateError(f"placeholder {{{name}}} appears twice")
        names.append(name)
        return f"(?P<{name}>[^/]+)"


def _relative(path: str, root: str) -> str | None:
    try:
        return str(PurePosixPath(path).relative_to(root))
    except ValueError:
        return None
