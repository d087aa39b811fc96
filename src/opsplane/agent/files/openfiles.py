"""Which files some process holds open for writing, from /proc/<pid>/fd and fdinfo.

A JVM writing a heap dump keeps it open (O_WRONLY) until the last byte, and may pause
between segments longer than a size-based check waits: an open writer is the one sure
sign the file is not finished. Scanning every fd of every process costs a syscall or two
per fd, so the watcher asks only about files that already look stable, all at once.

Processes of other users are invisible to an unprivileged agent; for those, only the
size/mtime stability check applies (the agent normally runs as root).
"""

from __future__ import annotations

import os
from collections.abc import Set
from pathlib import Path

FileId = tuple[int, int]  # (st_dev, st_ino)

_ACCESS_MODE = 0o3  # O_ACCMODE: O_RDONLY 0, O_WRONLY 1, O_RDWR 2


def held_for_writing(
    targets: Set[FileId], *, proc_root: Path = Path("/proc"), skip_pid: int | None = None
) -> set[FileId]:
    """Those of `targets` that some process has open with write access.

    Args:
        targets: Files to look for, by device and inode (robust to paths seen through
            another mount namespace, e.g. a JVM in a container).
        proc_root: The proc filesystem (a fake tree in tests).
        skip_pid: A process to ignore (this agent: it only ever reads dumps).
    """
    found: set[FileId] = set()
    if not targets:
        return found
    try:
        pids = [entry.name for entry in os.scandir(proc_root) if entry.name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        if skip_pid is not None and pid == str(skip_pid):
            continue
        found |= _writers_in_process(proc_root / pid, targets)
        if found >= targets:
            break
    return found


def _writers_in_process(process: Path, targets: Set[FileId]) -> set[FileId]:
    fd_dir = process / "fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:  # exited meanwhile, or another user's process
        return set()
    found: set[FileId] = set()
    for fd in fds:
        link = fd_dir / fd
        try:
            # Sockets, pipes and anon inodes read as "socket:[123]" etc.: skip without a stat.
            if not os.readlink(link).startswith("/"):
                continue
            info = os.stat(link)  # follows the magic link to the open file itself
        except OSError:
            continue
        file_id = (info.st_dev, info.st_ino)
        if file_id in targets and _opened_for_writing(process / "fdinfo" / fd):
            found.add(file_id)
    return found


def _opened_for_writing(fdinfo: Path) -> bool:
    try:
        text = fdinfo.read_text()
    except OSError:
        # Closed between the two reads: not held any more.
        return False
    for line in text.splitlines():
        if line.startswith("flags:"):
            return int(line.split()[1], 8) & _ACCESS_MODE != os.O_RDONLY
    return True  # no flags line: be careful and treat it as a writer
