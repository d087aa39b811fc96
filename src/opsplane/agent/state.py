"""The agent's state directory: credential (0600), last applied config, spool, file states.

Every file is written through a temp file + fsync + rename, so a crash never leaves a
half-written credential that would orphan the node.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TypeVar

import msgspec

from opsplane.protocol.session import AgentConfig

CREDENTIAL_FILE = "credential.json"
CONFIG_FILE = "config.json"
SPOOL_FILE = "spool.sqlite3"
FILES_FILE = "files.sqlite3"

T = TypeVar("T")


class Credential(msgspec.Struct, frozen=True, forbid_unknown_fields=False):
    """What enrollment returned: the node's identity and its secret for the link."""

    node_id: str
    node_name: str
    credential: str
    server: str = ""


class StateError(RuntimeError):
    """The state directory is unusable (permissions, corrupt file); the message says why."""


class StateDir:
    """Files the agent keeps between runs; creates the directory (0700) on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"cannot create state dir {path}: {exc}") from exc

    @property
    def spool_path(self) -> Path:
        return self.path / SPOOL_FILE

    @property
    def files_path(self) -> Path:
        """Watched files' states and upload progress (`opsplane.agent.files.known`)."""
        return self.path / FILES_FILE

    def load_credential(self) -> Credential | None:
        """The stored credential, or None when the agent has never enrolled."""
        return self._load(CREDENTIAL_FILE, Credential)

    def save_credential(self, credential: Credential) -> None:
        write_private_file(self.path / CREDENTIAL_FILE, msgspec.json.encode(credential))

    def load_config(self) -> AgentConfig | None:
        """The last config the server pushed, so a restart offline keeps its intervals."""
        return self._load(CONFIG_FILE, AgentConfig)

    def save_config(self, config: AgentConfig) -> None:
        write_private_file(self.path / CONFIG_FILE, msgspec.json.encode(config))

    def _load(self, name: str, cls: type[T]) -> T | None:
        path = self.path / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc}") from exc
        try:
            return msgspec.json.decode(data, type=cls)
        except msgspec.DecodeError as exc:
            raise StateError(f"{path} is corrupt ({exc}); remove it to start over") from exc


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace `path` with `data`, readable by the owner only (mode 0600)."""
    # mkstemp creates the file 0600 from the start, so the secret is never world-readable.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
