from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsplane.agent.files.scan import MAX_DEPTH, CompiledRule, RuleError, scan
from opsplane.protocol.files import WatchRule


def rule(**fields: object) -> WatchRule:
    values: dict[str, object] = {"id": "r", "name": "dumps", "paths": ("/data/dumps",)}
    return WatchRule(**(values | fields))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("watch", "message"),
    [
        (rule(stable_seconds=-1), "stable_seconds must be >= 0, got -1"),
        (rule(stable_seconds=float("nan")), "stable_seconds must be >= 0, got nan"),
        (rule(patterns=()), "no patterns"),
        (rule(paths=("dumps",)), "paths must be absolute, got ['dumps']"),
        (rule(path_template="/d/{app"), "unclosed '{' at position 3 in '/d/{app'"),
        (
            rule(paths=(), path_template="{app}/*.hprof"),
            "no paths, and no absolute path_template to start from",
        ),
    ],
)
def test_rules_that_cannot_work_say_why(watch: WatchRule, message: str) -> None:
    with pytest.raises(RuleError) as refused:
        CompiledRule(watch)
    assert str(refused.value) == message


def test_an_absolute_template_alone_gives_the_root() -> None:
    compiled = CompiledRule(rule(paths=(), path_template="/data/dumps/{app}/*.hprof"))
    assert compiled.roots == ("/data/dumps",)


def test_scan_finds_matching_regular_files_to_a_depth(tmp_path: Path) -> None:
    (tmp_path / "a.hprof").write_bytes(b"1")
    (tmp_path / "b.txt").write_bytes(b"1")
    os.symlink(tmp_path / "a.hprof", tmp_path / "link.hprof")  # symlinks are skipped
    deep = tmp_path.joinpath(*[f"d{i}" for i in range(MAX_DEPTH + 1)])
    deep.mkdir(parents=True)
    (deep.parent / "deepest-seen.hprof").write_bytes(b"1")
    (deep / "too-deep.hprof").write_bytes(b"1")
    result = scan([CompiledRule(rule(paths=(str(tmp_path),)))])
    assert sorted(Path(p).name for p in result.found) == ["a.hprof", "deepest-seen.hprof"]
    found = result.found[str(tmp_path / "a.hprof")]
    assert (found.size, found.root) == (1, str(tmp_path))
    assert result.problems == []
