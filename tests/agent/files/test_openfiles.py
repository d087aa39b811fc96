"""Writers found through /proc: a fake tree for the flag parsing, real processes for the rest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opsplane.agent.files.openfiles import held_for_writing


def file_id(path: Path) -> tuple[int, int]:
    info = path.stat()
    return (info.st_dev, info.st_ino)


def fake_process(proc: Path, pid: int, fds: dict[int, tuple[str, int]]) -> None:
    """/proc/<pid>/fd/<n> -> target, /proc/<pid>/fdinfo/<n> with the given open flags."""
    (proc / str(pid) / "fd").mkdir(parents=True)
    (proc / str(pid) / "fdinfo").mkdir()
    for fd, (target, flags) in fds.items():
        os.symlink(target, proc / str(pid) / "fd" / str(fd))
        (proc / str(pid) / "fdinfo" / str(fd)).write_text(
            f"pos:\t0\nflags:\t{flags:o}\nmnt_id:\t29\n"
        )


def test_flags_decide_between_readers_and_writers(tmp_path: Path) -> None:
    read, written, both = (tmp_path / name for name in ("read", "written", "both"))
    for path in (read, written, both):
        path.write_bytes(b"x")
    proc = tmp_path / "proc"
    fake_process(proc, 10, {3: (str(read), os.O_RDONLY | os.O_CLOEXEC)})
    fake_process(proc, 11, {4: (str(written), os.O_WRONLY | os.O_CREAT), 5: ("socket:[9]", 2)})
    fake_process(proc, 12, {6: (str(both), os.O_RDWR)})
    (proc / "self").mkdir()  # not a pid: ignored
    targets = {file_id(read), file_id(written), file_id(both)}
    assert held_for_writing(targets, proc_root=proc) == {file_id(written), file_id(both)}
    assert held_for_writing(targets, proc_root=proc, skip_pid=11) == {file_id(both)}
    assert held_for_writing(set(), proc_root=proc) == set()


def test_a_real_process_holding_a_file_open(tmp_path: Path) -> None:
    target = tmp_path / "dump.hprof"
    target.write_bytes(b"partial")
    code = "import sys; f = open(sys.argv[1], 'ab'); print('open', flush=True); sys.stdin.read()"
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"open\n"
        assert held_for_writing({file_id(target)}) == {file_id(target)}
        with target.open("rb"):  # a reader (this very process) does not count
            writer.communicate(b"", timeout=10)
        assert held_for_writing({file_id(target)}) == set()
    finally:
        writer.kill()
        writer.wait()
