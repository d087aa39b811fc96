from __future__ import annotations

import stat
from pathlib import Path

import pytest

from opsplane.agent.state import Credential, StateDir, StateError, write_private_file
from opsplane.protocol.session import AgentConfig


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_credential_round_trip_with_mode_0600(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    assert state.load_credential() is None
    credential = Credential("n-1", "web-1", "s3cret", server="http://x")
    state.save_credential(credential)
    assert state.load_credential() == credential
    assert mode(tmp_path / "state" / "credential.json") == 0o600
    assert mode(tmp_path / "state") == 0o700
    # Temp file + rename: nothing else is left behind.
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["credential.json"]


def test_replacing_keeps_mode_0600_even_if_loosened(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    write_private_file(target, b"one")
    target.chmod(0o644)
    write_private_file(target, b"two")
    assert target.read_bytes() == b"two"
    assert mode(target) == 0o600


def test_last_config_is_kept(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    config = AgentConfig(heartbeat_interval=2.0, metrics_interval=3.0, labels={"env": "prod"})
    state.save_config(config)
    assert StateDir(tmp_path).load_config() == config


def test_corrupt_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "credential.json").write_text("{not json")
    with pytest.raises(StateError, match=r"corrupt.*remove it"):
        StateDir(tmp_path).load_credential()


def test_unusable_state_dir(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StateError, match="cannot create state dir"):
        StateDir(tmp_path / "file" / "state")
