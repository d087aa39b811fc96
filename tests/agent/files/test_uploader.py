"""The upload queue across restarts, and what happens to a file after its upload."""

from __future__ import annotations

import asyncio
import gzip
import os
import stat

import msgspec

from opsplane.agent.files.after import apply_after_upload
from opsplane.agent.files.known import FileRecord
from opsplane.protocol.session import AgentConfig
from tests.agent.fakeserver import eventually
from tests.agent.files.conftest import Pipeline, rule, write_file

KIB = 1024


async def test_a_restart_mid_upload_resumes_at_the_servers_offset(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    data = write_file(pipeline.dumps / "a.hprof", 1500 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 512 * KIB)
    await pipeline.stop()  # cancelled mid-chunk, like a crash as far as the upload knows
    stored = len(uploads.only().data)
    assert stored < len(data)
    await pipeline.start()
    completed = await pipeline.wait_for("upload_completed", "a.hprof")
    assert uploads.only().data == data
    assert completed.upload_id == uploads.only().upload_id
    assert uploads.bytes_received <= len(data) + uploads.chunk_size
    assert uploads.count("status") >= 1  # asked where to resume, did not open a new one
    events = await pipeline.events()
    assert [e for e, _ in events] == ["created", "upload_started", "upload_completed"]


async def test_a_forgotten_upload_is_opened_again(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    data = write_file(pipeline.dumps / "b.hprof", 1000 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 256 * KIB)
    await pipeline.stop()
    uploads.uploads.clear()  # a server restored from an older backup
    await pipeline.start()
    await pipeline.wait_for("upload_completed", "b.hprof")
    assert uploads.only().data == data


async def test_delete_after_upload(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "c.hprof"
    write_file(dump, 100 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps, after_upload="delete"),)))
    await pipeline.wait_for("upload_completed", dump.name)
    await eventually(lambda: not dump.exists())


async def test_compress_after_upload_and_never_announce_the_output(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "d.hprof"
    data = write_file(dump, 300 * KIB) + b"\0" * 300 * KIB  # compressible half
    dump.write_bytes(data)
    dump.chmod(0o600)  # as the JVM creates it
    rules = (rule(pipeline.dumps, after_upload="compress", stable_seconds=0.0),)
    await pipeline.start(AgentConfig(watch_rules=rules))
    await pipeline.wait_for("upload_completed", dump.name)
    packed = pipeline.dumps / "d.hprof.gz"
    await eventually(lambda: packed.exists() and not dump.exists())
    assert gzip.decompress(packed.read_bytes()) == data
    assert stat.S_IMODE(packed.stat().st_mode) == 0o600
    assert os.listdir(pipeline.dumps) == ["d.hprof.gz"]  # no temp file left
    await asyncio.sleep(0.3)  # `*.hprof.gz` matches: several polls must not announce it
    assert [n for e, n in await pipeline.events() if e == "created"] == ["d.hprof"]
    await pipeline.restart()  # nor after a restart
    await asyncio.sleep(0.3)
    assert [n for e, n in await pipeline.events() if e == "created"] == ["d.hprof"]


async def test_after_upload_leaves_a_replaced_file_alone(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "e.hprof"
    write_file(dump, 10 * KIB)
    info = dump.stat()
    files = await pipeline.start()
    uploaded = FileRecord(
        key="k",
        path=str(dump),
        size=info.st_size,
        inode=info.st_ino,
        mtime_ns=info.st_mtime_ns - 1,  # uploaded, then the path got another file
        state="uploaded",
        after_upload="delete",
    )
    error = await apply_after_upload(uploaded, files.known)
    assert error == f"{dump} changed or vanished after the upload: left alone"
    compress = msgspec.structs.replace(uploaded, after_upload="compress")
    assert await apply_after_upload(compress, files.known) == error
    assert os.listdir(pipeline.dumps) == ["e.hprof"]


async def test_a_file_modified_in_place_while_uploading_is_not_completed(
    pipeline: Pipeline,
) -> None:
    dump = pipeline.dumps / "m.hprof"
    write_file(dump, 1000 * KIB)
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 256 * KIB)
    with dump.open("r+b") as out:
        out.write(b"changed")
    missing = await pipeline.wait_for("missing", dump.name)
    assert missing.error == f"{dump} was modified while it was uploaded"
    assert uploads.count("complete") == 0


async def test_a_file_deleted_before_its_upload_is_missing(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    uploads.chunk_delay = 0.05
    write_file(pipeline.dumps / "f1.hprof", 1000 * KIB)
    rules = (rule(pipeline.dumps, stable_seconds=0.0),)
    await pipeline.start(AgentConfig(watch_rules=rules, upload_concurrency=1))
    await pipeline.wait_for("upload_started", "f1.hprof")
    write_file(pipeline.dumps / "f2.hprof", 10 * KIB)
    await pipeline.wait_for("created", "f2.hprof")
    (pipeline.dumps / "f2.hprof").unlink()  # still queued behind f1
    missing = await pipeline.wait_for("missing", "f2.hprof")
    assert missing.error == f"{pipeline.dumps / 'f2.hprof'} no longer exists"
    await pipeline.wait_for("upload_completed", "f1.hprof")
