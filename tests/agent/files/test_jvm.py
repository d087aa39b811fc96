"""A real JVM dies of OutOfMemoryError into a watched directory: announced only once complete."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import struct
from pathlib import Path

import pytest

from opsplane.protocol.session import AgentConfig
from tests.agent.files.conftest import Pipeline, rule

pytestmark = pytest.mark.integration

JAVA = Path(__file__).parent / "java"
HEAP_DUMP_END = 0x2C


def require_jdk() -> None:
    missing = [tool for tool in ("java", "javac") if shutil.which(tool) is None]
    if missing:
        reason = f"JDK tools missing: {', '.join(missing)}"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)


def ends_with_heap_dump_end(path: Path) -> bool:
    """A complete HPROF file ends with a HEAP_DUMP_END record: tag, u4 time, u4 length 0."""
    with path.open("rb") as dump:
        dump.seek(-9, os.SEEK_END)
        tag, _, length = struct.unpack(">BII", dump.read(9))
    return tag == HEAP_DUMP_END and length == 0


async def test_an_oom_dump_is_announced_only_once_complete(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    require_jdk()
    classes = tmp_path / "classes"
    javac = await asyncio.create_subprocess_exec(
        "javac", "-d", str(classes), str(JAVA / "OomDump.java")
    )
    assert await asyncio.wait_for(javac.wait(), 120) == 0
    # stable_seconds 0: only the open-for-writing check stands between a dump being
    # written and its announcement.
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps, stable_seconds=0.0),)))
    pipeline.server.uploads.chunk_size = 4 * 1024 * 1024  # the agent's own largest chunk
    jvm = await asyncio.create_subprocess_exec(
        "java",
        "-Xmx32m",
        "-XX:+UseSerialGC",
        "-XX:+HeapDumpOnOutOfMemoryError",
        f"-XX:HeapDumpPath={pipeline.dumps}",
        "-cp",
        str(classes),
        "OomDump",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    name = f"java_pid{jvm.pid}.hprof"
    try:
        created = await pipeline.wait_for("created", name, within=60)
        await asyncio.wait_for(jvm.wait(), 30)
    finally:
        if jvm.returncode is None:
            jvm.kill()
            await jvm.wait()
    dump = pipeline.dumps / name
    assert created.size == dump.stat().st_size > 10 * 1024 * 1024
    assert ends_with_heap_dump_end(dump)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    completed = await pipeline.wait_for("upload_completed", name, within=60)
    assert pipeline.server.uploads.only().data == dump.read_bytes()
    assert completed.sha256 is not None
