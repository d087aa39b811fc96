"""`opsplane heapdump ...` commands.

numpy/numba are imported inside the commands: the bare agent install imports this
module (to build the CLI) without the ``heapdump`` extra.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsplane.heapdump.errors import HeapDumpError

if TYPE_CHECKING:
    from opsplane.heapdump.report import Report

app = typer.Typer(help="Analyse Java HPROF heap dumps.", no_args_is_help=True)
PHASES = ("parse", "graph", "dominators", "report")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def _run_analysis(file: Path, quiet: bool) -> Report:
    from opsplane.heapdump.api import analyze

    if quiet or not sys.stderr.isatty():
        return analyze(file)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<11}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        tasks = {p: bar.add_task(p, total=1.0) for p in PHASES}

        def progress(phase: str, fraction: float) -> None:
            bar.update(tasks[phase], completed=fraction)

        report = analyze(file, progress=progress)
        for task in tasks.values():
            bar.update(task, completed=1.0)
    return report


@app.command()
def analyze(
    file: Annotated[Path, typer.Argument(help="HPROF dump (plain or gzip).")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the reports.")] = Path(
        "heapdump-report"
    ),
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: html,json.")] = "html,json",
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar or summary.")] = False,
) -> None:
    """Analyse a heap dump and write an HTML and/or JSON report."""
    from opsplane.heapdump.api import FORMATS, write_report

    formats = [f.strip() for f in fmt.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise _fail(f"--format takes a comma-separated subset of {','.join(FORMATS)}")
    try:
        report = _run_analysis(file, quiet)
    except HeapDumpError as e:
        raise _fail(str(e)) from None
    try:
        written = write_report(report, out, formats)
    except OSError as e:
        raise _fail(f"cannot write the report to {out}: {e.strerror or e}") from None
    if not quiet:
        _print_summary(report, written)


def _print_summary(report: Report, written: list[Path]) -> None:
    s = report.summary
    typer.echo(
        f"{s['objects']:,} objects, {s['classes']:,} classes, heap {s['heap_bytes']:,} bytes"
    )
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    for i, sus in enumerate(report.leak_suspects, 1):
        typer.echo(
            f"suspect {i}: {sus['kind']} {sus['class']} retains "
            f"{sus['retained_bytes']:,} bytes ({sus['heap_fraction']:.1%})"
        )
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def diff(
    old: Annotated[Path, typer.Argument(help="Earlier dump.")],
    new: Annotated[Path, typer.Argument(help="Later dump.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows to print (text mode).")] = 30,
) -> None:
    """Per-class change in instance count and shallow bytes between two dumps."""
    from opsplane.heapdump.api import diff as diff_dumps

    try:
        result = diff_dumps(old, new)
    except HeapDumpError as e:
        raise _fail(str(e)) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
        return
    typer.echo(f"{'bytes delta':>14} {'count delta':>12}  class")
    for row in result.rows[:top]:
        typer.echo(f"{row['bytes_delta']:>+14,} {row['instances_delta']:>+12,}  {row['class']}")
