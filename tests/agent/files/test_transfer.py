"""Resumable chunked uploads against a stand-in speaking the upload API: faults included."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time

import pytest

from opsplane.agent.files.known import FileRecord, KnownFiles
from opsplane.protocol.session import AgentConfig
from tests.agent.fakeserver import eventually
from tests.agent.files.conftest import Pipeline, rule, write_file
from tests.agent.netcut import CuttableProxy

KIB = 1024


def sha256(data: bytes | bytearray) -> str:
    return hashlib.sha256(data).hexdigest()


async def start(pipeline: Pipeline, **config: object) -> None:
    rules = (rule(pipeline.dumps, stable_seconds=0.05),)
    await pipeline.start(AgentConfig(watch_rules=rules, **config))  # type: ignore[arg-type]


async def record(pipeline: Pipeline, name: str) -> FileRecord:
    assert pipeline.files is not None
    known: KnownFiles = pipeline.files.known
    found = await known.latest_for_path(str(pipeline.dumps / name))
    assert found is not None
    return found


async def test_a_file_goes_up_in_chunks_and_arrives_intact(pipeline: Pipeline) -> None:
    data = write_file(pipeline.dumps / "a.hprof", 1000 * KIB + 7)
    await start(pipeline)
    completed = await pipeline.wait_for("upload_completed", "a.hprof")
    upload = pipeline.server.uploads.only()
    assert upload.data == data
    assert completed.sha256 == sha256(data)
    assert pipeline.server.uploads.count("chunk", 200) == 4  # 256 KiB chunks
    events = await pipeline.events()
    assert events == [("created", "a.hprof"), ("upload_started", "a.hprof"), events[2]]
    started = (await pipeline.notices())[1]
    assert started.upload_id == upload.upload_id
    assert (await record(pipeline, "a.hprof")).state == "done"


async def test_a_409_moves_back_to_the_servers_offset(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    data = write_file(pipeline.dumps / "b.hprof", 2000 * KIB)
    await start(pipeline)
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 512 * KIB)
    del uploads.only().data[100_003:]  # the server lost some (not at a chunk boundary)
    await pipeline.wait_for("upload_completed", "b.hprof")
    assert uploads.count("chunk", 409) == 1
    assert uploads.only().data == data
    assert uploads.only().sha256_mismatches == 0


async def test_a_409_can_also_move_forward(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    data = write_file(pipeline.dumps / "c.hprof", 2000 * KIB)
    await start(pipeline)
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 256 * KIB)
    # Another writer (a previous agent run) already stored more than this agent knows.
    uploads.only().data[:] = data[: 1500 * KIB + 1]
    await pipeline.wait_for("upload_completed", "c.hprof")
    assert uploads.count("chunk", 409) == 1
    assert uploads.only().data == data
    assert uploads.bytes_received < 1500 * KIB  # the skipped part was never sent


async def test_a_sha256_mismatch_uploads_again(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.corrupt_next_complete = True
    data = write_file(pipeline.dumps / "d.hprof", 300 * KIB)
    await start(pipeline)
    completed = await pipeline.wait_for("upload_completed", "d.hprof")
    upload = uploads.only()
    assert (upload.sha256_mismatches, upload.completes) == (1, 2)
    assert upload.data == data
    assert completed.sha256 == sha256(data)
    assert uploads.bytes_received == 2 * len(data)


async def test_server_errors_are_retried(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.fail_next = 3
    data = write_file(pipeline.dumps / "e.hprof", 100 * KIB)
    await start(pipeline)
    await pipeline.wait_for("upload_completed", "e.hprof")
    assert uploads.only().data == data
    assert ("upload_failed", "e.hprof") not in await pipeline.events()


async def test_an_answer_that_stays_an_error_gives_up(pipeline: Pipeline) -> None:
    pipeline.server.uploads.fail_next = 10_000
    pipeline.server.uploads.fail_status = 500
    write_file(pipeline.dumps / "f.hprof", 10 * KIB)
    await start(pipeline)
    failed = await pipeline.wait_for("upload_failed", "f.hprof")
    assert failed.error is not None
    assert failed.error.startswith("gave up after 5 failed attempts: HTTP 500 unavailable")
    assert (await record(pipeline, "f.hprof")).state == "failed"


async def test_a_refusal_fails_at_once(pipeline: Pipeline) -> None:
    pipeline.node.credential = "revoked"  # the server no longer knows this agent
    write_file(pipeline.dumps / "g.hprof", 10 * KIB)
    await start(pipeline)
    failed = await pipeline.wait_for("upload_failed", "g.hprof")
    assert failed.error == "server refused the upload: HTTP 401 unauthorized: unknown credential"


async def test_chunks_shrink_when_the_server_says_too_large(pipeline: Pipeline) -> None:
    pipeline.server.uploads.max_body = 100 * KIB
    data = write_file(pipeline.dumps / "h.hprof", 300 * KIB)
    await start(pipeline)
    await pipeline.wait_for("upload_completed", "h.hprof")
    assert pipeline.server.uploads.only().data == data
    assert pipeline.server.uploads.count("chunk", 413) == 2  # 256 -> 128 -> 64 KiB


async def test_a_network_cut_mid_upload_resumes(pipeline: Pipeline) -> None:
    proxy = CuttableProxy(pipeline.server.port)
    await proxy.start()
    pipeline.settings = dataclasses.replace(pipeline.settings, server=proxy.url)
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.03
    data = write_file(pipeline.dumps / "i.hprof", 2000 * KIB)
    try:
        await start(pipeline)
        await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 512 * KIB)
        await proxy.cut()
        await asyncio.sleep(0.5)  # the agent retries into a closed port meanwhile
        assert len(uploads.only().data) < len(data)
        await proxy.restore()
        completed = await pipeline.wait_for("upload_completed", "i.hprof")
    finally:
        await proxy.stop()
    assert uploads.only().data == data
    assert completed.sha256 == sha256(data)
    # Resumed, not restarted: at most the chunk in flight at the cut went twice.
    assert uploads.bytes_received <= len(data) + uploads.chunk_size


async def test_a_server_restart_mid_upload_resumes(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.03
    data = write_file(pipeline.dumps / "j.hprof", 2000 * KIB)
    await start(pipeline)
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 512 * KIB)
    await pipeline.server.stop()
    await asyncio.sleep(0.3)
    await pipeline.server.start()
    await pipeline.wait_for("upload_completed", "j.hprof")
    assert uploads.only().data == data
    assert uploads.count("status") >= 1  # asked where to resume


@pytest.mark.parametrize("rate", [300 * KIB, 600 * KIB])
async def test_the_bandwidth_limit_holds(pipeline: Pipeline, rate: int) -> None:
    size = 450 * KIB
    write_file(pipeline.dumps / "k.hprof", size)
    await start(pipeline, upload_bytes_per_second=rate)
    await pipeline.wait_for("upload_started", "k.hprof")
    began = time.monotonic()
    await pipeline.wait_for("upload_completed", "k.hprof")
    elapsed = time.monotonic() - began
    # Loose: never faster than the limit allows (less a small burst), whatever the machine.
    assert elapsed >= 0.8 * size / rate, elapsed


@pytest.mark.parametrize("concurrency", [1, 2])
async def test_uploads_run_at_most_concurrency_at_once(
    pipeline: Pipeline, concurrency: int
) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    for i in range(4):
        write_file(pipeline.dumps / f"l{i}.hprof", 300 * KIB)
    await start(pipeline, upload_concurrency=concurrency)
    for i in range(4):
        await pipeline.wait_for("upload_completed", f"l{i}.hprof")
    assert uploads.max_active_puts == concurrency
