from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsplane.agent.spool import AsyncSpool, Spool


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    spool = Spool(tmp_path / "spool.sqlite3")
    yield spool
    spool.close()


def test_append_assigns_increasing_seqs_per_stream(spool: Spool) -> None:
    assert [spool.append("metrics", b"[]", 0) for _ in range(3)] == [1, 2, 3]
    assert spool.append("events", b"[]", 0) == 1
    assert spool.pending("metrics") == 3
    assert spool.pending("events") == 1


def test_read_returns_records_after_cursor_in_order(spool: Spool) -> None:
    for n in range(5):
        spool.append("metrics", f"[{n}]".encode(), 1)
    records = spool.read("metrics", 2, max_items=100, max_records=100)
    assert [r.seq for r in records] == [3, 4, 5]
    assert [r.payload for r in records] == [b"[2]", b"[3]", b"[4]"]


def test_read_bounds_items_but_always_returns_one_record(spool: Spool) -> None:
    for _ in range(4):
        spool.append("metrics", b"[]", 3000)
    assert [r.seq for r in spool.read("metrics", 0, max_items=5000, max_records=100)] == [1]
    assert [r.seq for r in spool.read("metrics", 0, max_items=6000, max_records=100)] == [1, 2]
    assert [r.seq for r in spool.read("metrics", 0, max_items=1, max_records=100)] == [1]
    assert len(spool.read("metrics", 0, max_items=10**9, max_records=3)) == 3


def test_ack_deletes_up_to_seq_only(spool: Spool) -> None:
    for _ in range(5):
        spool.append("metrics", b"[]", 0)
    assert spool.ack("metrics", 3) == 3
    assert spool.pending("metrics") == 2
    assert [r.seq for r in spool.read("metrics", 0, max_items=99, max_records=99)] == [4, 5]
    assert spool.ack("metrics", 2) == 0  # already gone: harmless
    assert spool.acked_seq("metrics") == 3


def test_ack_beyond_last_seq_does_not_swallow_future_records(spool: Spool) -> None:
    spool.append("metrics", b"[]", 0)
    spool.ack("metrics", 99)
    assert spool.acked_seq("metrics") == 1
    assert spool.append("metrics", b"[]", 0) == 2
    assert spool.pending("metrics") == 1


def test_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    first = Spool(path)
    for _ in range(4):
        first.append("metrics", b"[1]", 1)
    first.ack("metrics", 2)
    first.close()

    again = Spool(path)
    try:
        assert again.pending("metrics") == 2
        assert again.acked_seq("metrics") == 2
        assert [r.seq for r in again.read("metrics", 2, max_items=9, max_records=9)] == [3, 4]
        assert again.append("metrics", b"[]", 0) == 5
    finally:
        again.close()


def test_seqs_never_restart_even_when_everything_was_acked(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    first = Spool(path)
    first.append("metrics", b"[]", 0)
    first.ack("metrics", 1)
    first.close()
    again = Spool(path)
    try:
        assert again.append("metrics", b"[]", 0) == 2
    finally:
        again.close()


def test_fast_forward_skips_seqs_the_server_already_has(spool: Spool) -> None:
    spool.append("metrics", b"[]", 0)
    spool.fast_forward("metrics", 40)
    spool.fast_forward("metrics", 10)  # never backwards
    assert spool.append("metrics", b"[]", 0) == 41


def test_cap_drops_oldest_and_reports_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", max_bytes=1000)
    try:
        for _ in range(30):
            spool.append("metrics", b"x" * 100, 1)
        remaining = spool.read("metrics", 0, max_items=99, max_records=99)
        assert sum(len(r.payload) for r in remaining) <= 1000
        assert remaining[-1].seq == 30  # the newest are kept
        assert [r.seq for r in remaining] == list(range(remaining[0].seq, 31))
        (problem,) = spool.problems()
        assert "spool metrics full" in problem
        assert "dropped 20 oldest records" in problem
        spool.ack("metrics", 30)
        assert spool.problems() == []  # drained: the problem clears
    finally:
        spool.close()


def test_bad_stream_name_is_rejected(spool: Spool) -> None:
    with pytest.raises(ValueError, match="bad stream name"):
        spool.append("metrics; DROP TABLE records", b"[]", 0)


async def test_async_spool_runs_off_loop_and_notifies(tmp_path: Path) -> None:
    spool = await AsyncSpool.open(tmp_path / "spool.sqlite3", max_bytes=10**6)
    seen: list[str] = []
    spool.on_append(seen.append)
    try:
        assert await spool.append("events", b"[]", 0) == 1
        assert seen == ["events"]
        assert [r.seq for r in await spool.read("events", 0, max_items=9, max_records=9)] == [1]
        assert await spool.ack("events", 1) == 1
        assert spool.pending("events") == 0
    finally:
        await spool.close()
