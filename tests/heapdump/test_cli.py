"""`opsplane heapdump analyze|diff` through the real CLI entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from opsplane.cli import app

from .conftest import fixture

runner = CliRunner()


def test_analyze_writes_reports(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "heapdump",
            "analyze",
            str(fixture("oracle_jdk8_05_x64.hprof")),
            "--out",
            str(tmp_path),
            "--format",
            "json,html",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "suspect 1:" in result.output
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["summary"]["objects"] == 15240
    assert (tmp_path / "report.html").read_text().startswith("<!doctype html>")


def test_quiet_json_only(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "heapdump",
            "analyze",
            str(fixture("sun_jdk6_32bit.hprof")),
            "--out",
            str(tmp_path),
            "--format",
            "json",
            "--quiet",
        ],
    )
    assert result.exit_code == 0
    assert result.output == ""
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_corrupt_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.hprof"
    bad.write_bytes(fixture("sun_jdk6_32bit.hprof").read_bytes()[:100_000])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "opsplane.cli",
            "heapdump",
            "analyze",
            str(bad),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "offset" in lines[0]
    assert "Traceback" not in proc.stderr


def test_bad_format_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["heapdump", "analyze", "x.hprof", "--format", "pdf"])
    assert result.exit_code == 2


def test_diff_json() -> None:
    old, new = fixture("sun_jdk6_18_x64.hprof"), fixture("oracle_jdk8_05_x64.hprof")
    result = runner.invoke(app, ["heapdump", "diff", str(old), str(new), "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    rows = {r["class"]: r for r in data["classes"]}
    assert rows["java.lang.String"]["instances_delta"] == (
        rows["java.lang.String"]["new_instances"] - rows["java.lang.String"]["old_instances"]
    )
    assert data["old"]["objects"] == 28132
    assert data["new"]["objects"] == 15240


def test_diff_text() -> None:
    f = str(fixture("sun_jdk6_32bit.hprof"))
    result = runner.invoke(app, ["heapdump", "diff", f, f])
    assert result.exit_code == 0
    assert result.output.splitlines() == ["   bytes delta  count delta  class"]


def test_cli_module_does_not_import_numpy_or_numba() -> None:
    """The bare agent install imports the CLI without the heapdump extra."""
    code = (
        "import sys, opsplane.heapdump.cli, opsplane.heapdump; "
        "bad = [m for m in ('numpy', 'numba') if m in sys.modules]; "
        "assert not bad, bad; "
        "assert not [m for m in sys.modules if m.startswith(('opsplane.server', 'opsplane.agent'))]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unwritable_output_is_a_clean_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = runner.invoke(
        app,
        [
            "heapdump",
            "analyze",
            str(fixture("sun_jdk6_32bit.hprof")),
            "--out",
            str(blocker),
            "--quiet",
        ],
    )
    assert result.exit_code == 2
    assert "cannot write the report" in result.output
