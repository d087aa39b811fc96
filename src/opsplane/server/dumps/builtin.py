"""The built-in backend: `opsplane.heapdump` in a bounded pool of worker processes.

Each analysis is a fresh `python -m opsplane.server.dumps.worker` process (memory limit via
RLIMIT_AS inside it, wall-clock timeout here). A semaphore bounds how many run at once. A
crash, an out-of-memory or a timeout is a failed step with an error type, never a server
problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import structlog

from opsplane.server.dumps.outcome import AnalysisOutcome, failed
from opsplane.server.dumps.worker import EXIT_BAD_DUMP, EXIT_NO_MEMORY

log = structlog.get_logger(__name__)
WORKER = (sys.executable, "-m", "opsplane.server.dumps.worker")


class BuiltinBackend:
    name = "builtin"

    def __init__(
        self,
        *,
        concurrency: int,
        timeout: float,
        memory_mb: int,
        command: Sequence[str] = WORKER,
    ) -> None:
        self.timeout, self.memory_mb = timeout, memory_mb
        self.command = tuple(command)
        self.slots = asyncio.Semaphore(concurrency)
        self.running: dict[int, int] = {}  # file id -> worker pid

    async def run(self, file_id: int, dump: Path, out_dir: Path) -> AnalysisOutcome:
        """Analyse `dump` into `out_dir` (waits for a free worker slot first)."""
        async with self.slots:
            return await self._run(file_id, dump, out_dir)

    async def _run(self, file_id: int, dump: Path, out_dir: Path) -> AnalysisOutcome:
        await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
        argv = [*self.command, str(dump), str(out_dir), "--memory-mb", str(self.memory_mb)]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a terminal's Ctrl-C is for the server, not this worker
        )
        self.running[file_id] = proc.pid
        try:
            _, err = await asyncio.wait_for(proc.communicate(), self.timeout)
        except TimeoutError:
            await _kill(proc)
            return failed(f"analysis took longer than {self.timeout:g} s", "timeout")
        except BaseException:
            await _kill(proc)
            raise
        finally:
            self.running.pop(file_id, None)
        stderr = err.decode(errors="replace")
        return await asyncio.to_thread(_outcome, proc.returncode, stderr, out_dir)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(Exception):
        await proc.wait()


def _outcome(code: int | None, stderr: str, out_dir: Path) -> AnalysisOutcome:
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if code is not None and code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return failed(f"analysis worker crashed ({name}) {last}".strip(), "crashed", exit=code)
    if code == EXIT_BAD_DUMP:
        return failed(last or "not a valid heap dump", "bad_dump", exit=code)
    if code == EXIT_NO_MEMORY:
        return failed(last or "out of memory", "out_of_memory", exit=code)
    if code != 0:
        return failed(last or f"analysis worker exited with {code}", "worker_error", exit=code)
    html, report_json = out_dir / "report.html", out_dir / "report.json"
    try:
        report = json.loads(report_json.read_text())
    except (OSError, ValueError) as exc:
        return failed(f"analysis wrote no readable report: {exc}", "worker_error")
    return AnalysisOutcome(True, report=report, html=html, json=report_json)
