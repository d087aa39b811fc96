"""One pass over the watched directories: which files match the rules, with their stat.

Blocking (directory walks); the watcher runs it in a worker thread. A scan is a handful of
`scandir` calls plus one `stat` per matching file, so polling every second is cheap.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
from collections.abc import Sequence

from opsplane.agent.files.template import PathTemplate, TemplateError
from opsplane.protocol.files import WatchRule

# Dump directories are shallow; the cap keeps a rule on "/" from walking the whole disk.
MAX_DEPTH = 6
# Our own temp files (compression): never matched, whatever the patterns say.
TEMP_SUFFIX = ".opsplane-tmp"


@dataclasses.dataclass(frozen=True, slots=True)
class Found:
    path: str
    root: str
    rule: CompiledRule
    size: int
    mtime_ns: int
    inode: int
    dev: int

    def same_file(self, other: Found) -> bool:
        """Nothing changed since `other` (same file, same size, same mtime)."""
        return (self.size, self.mtime_ns, self.inode, self.dev) == (
            other.size,
            other.mtime_ns,
            other.inode,
            other.dev,
        )


class RuleError(ValueError):
    """A watch rule that cannot be applied; the message says why."""


class CompiledRule:
    """A watch rule ready to scan: roots resolved, patterns and template compiled.

    Raises:
        RuleError: The rule cannot work (relative paths, no patterns, bad template, ...).
    """

    def __init__(self, rule: WatchRule) -> None:
        self.rule = rule
        _check(rule)
        try:
            self.template = PathTemplate(rule.path_template) if rule.path_template else None
        except TemplateError as exc:
            raise RuleError(str(exc)) from None
        roots = list(rule.paths)
        if not roots and self.template is not None and self.template.absolute:
            roots.append(str(self.template.root()))
        if not roots:
            raise RuleError("no paths, and no absolute path_template to start from")
        self.roots = tuple(os.path.normpath(root) for root in roots)
        self._names = re.compile("|".join(fnmatch.translate(p) for p in rule.patterns))

    def wants(self, name: str) -> bool:
        return not name.endswith(TEMP_SUFFIX) and self._names.match(name) is not None

    def metadata(self, found: Found) -> dict[str, str]:
        """Placeholders of the template for this file; empty when there is none or no match."""
        if self.template is None:
            return {}
        return self.template.match(found.path, found.root) or {}


def _check(rule: WatchRule) -> None:
    if not rule.stable_seconds >= 0:  # also refuses NaN
        raise RuleError(f"stable_seconds must be >= 0, got {rule.stable_seconds}")
    if not rule.patterns:
        raise RuleError("no patterns")
    relative = [path for path in rule.paths if not path.startswith("/")]
    if relative:
        raise RuleError(f"paths must be absolute, got {relative}")


@dataclasses.dataclass
class ScanResult:
    found: dict[str, Found] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)


def scan(rules: Sequence[CompiledRule]) -> ScanResult:
    """Every regular file under the rules' roots whose name matches; the first rule wins."""
    result = ScanResult()
    for compiled in rules:
        for root in compiled.roots:
            _walk(compiled, root, root, 0, result)
    return result


def _walk(compiled: CompiledRule, root: str, directory: str, depth: int, out: ScanResult) -> None:
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return  # a rule for all nodes: the directory need not exist everywhere
    except OSError as exc:
        out.problems.append(f"cannot watch {directory}: {exc.strerror or exc}")
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH:
                    _walk(compiled, root, entry.path, depth + 1, out)
            elif entry.path not in out.found and compiled.wants(entry.name):
                _add(compiled, root, entry, out)
        except OSError:
            continue  # vanished between scandir and stat


def _add(compiled: CompiledRule, root: str, entry: os.DirEntry[str], out: ScanResult) -> None:
    # Symlinks are skipped: they could point anywhere, and the target is watched (or not)
    # in its own right.
    if not entry.is_file(follow_symlinks=False):
        return
    info = entry.stat(follow_symlinks=False)
    out.found[entry.path] = Found(
        entry.path, root, compiled, info.st_size, info.st_mtime_ns, info.st_ino, info.st_dev
    )


def restat(found: Found) -> Found | None:
    """`found` as it is now on disk, or None when it is gone."""
    try:
        info = os.stat(found.path, follow_symlinks=False)
    except OSError:
        return None
    return dataclasses.replace(
        found, size=info.st_size, mtime_ns=info.st_mtime_ns, inode=info.st_ino, dev=info.st_dev
    )
