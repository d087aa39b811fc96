from __future__ import annotations

from pathlib import Path

from opsplane.agent.files.known import FileRecord, KnownFiles, file_key


def record(key: str, path: str = "/d/a.hprof", **fields: object) -> FileRecord:
    values: dict[str, object] = {"size": 10, "inode": 1, "mtime_ns": 2, "state": "announced"}
    return FileRecord(key=key, path=path, **(values | fields))  # type: ignore[arg-type]


def test_file_key_changes_with_path_inode_and_mtime() -> None:
    base = file_key("/d/a.hprof", 1, 2)
    assert base == file_key("/d/a.hprof", 1, 2)
    assert len(base) == 32
    others = {
        file_key("/d/b.hprof", 1, 2),
        file_key("/d/a.hprof", 3, 2),
        file_key("/d/a.hprof", 1, 4),
    }
    assert base not in others
    assert len(others) == 3


async def test_records_survive_a_reopen(tmp_path: Path) -> None:
    now = [1000.0]
    known = await KnownFiles(tmp_path / "files.sqlite3", clock=lambda: now[0]).open()
    stored = await known.put(record("k1", metadata={"app": "shop"}, after_upload="compress"))
    assert (stored.created_at, stored.updated_at) == (1000.0, 1000.0)
    now[0] = 1005.0
    updated = await known.update("k1", state="uploading", upload_id="up-1", offset=4)
    assert updated is not None
    assert (updated.state, updated.upload_id, updated.offset) == ("uploading", "up-1", 4)
    assert await known.update("absent", state="done") is None
    await known.close()

    known = await KnownFiles(tmp_path / "files.sqlite3").open()
    again = await known.get("k1")
    assert again == updated
    assert again is not None
    assert again.metadata == {"app": "shop"}
    assert await known.known(["k1", "k2"]) == {"k1"}
    await known.close()


async def test_unfinished_and_latest_for_path(tmp_path: Path) -> None:
    now = [1.0]
    known = await KnownFiles(tmp_path / "files.sqlite3", clock=lambda: now[0]).open()
    for key, state in [("a", "announced"), ("b", "uploading"), ("c", "uploaded"), ("d", "done")]:
        now[0] += 1
        await known.put(record(key, f"/d/{key}", state=state))
    await known.put(record("e", "/d/a", state="failed"))
    assert [r.key for r in await known.unfinished()] == ["a", "b", "c"]
    latest = await known.latest_for_path("/d/a")
    assert latest is not None
    assert latest.key == "e"
    await known.close()


async def test_forget_terminal_keeps_what_is_still_on_disk(tmp_path: Path) -> None:
    now = [0.0]
    known = await KnownFiles(tmp_path / "files.sqlite3", clock=lambda: now[0]).open()
    await known.put(record("gone", "/d/gone", state="done"))
    await known.put(record("here", "/d/here", state="done"))
    await known.put(record("busy", "/d/busy", state="uploading"))
    now[0] = 100.0
    await known.put(record("recent", "/d/recent", state="missing"))
    forgotten = await known.forget_terminal(older_than=50, gone=lambda r: r.path != "/d/here")
    assert forgotten == 1
    assert await known.known(["gone", "here", "busy", "recent"]) == {"here", "busy", "recent"}
    await known.close()
