"""The `reupload` command, and the pipeline inside the whole agent: notices over the link."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from opsplane.agent.commands import CommandRunner
from opsplane.agent.files import uploader as uploader_module
from opsplane.agent.files.known import file_key
from opsplane.agent.main import EXIT_OK, Agent
from opsplane.agent.settings import AgentSettings
from opsplane.protocol.commands import Command, Result
from opsplane.protocol.session import AgentConfig
from tests.agent.fakeserver import FakeServer, eventually
from tests.agent.files.conftest import Pipeline, rule, until, write_file
from tests.agent.test_main import TinyCollector

KIB = 1024


def key_of(path: Path) -> str:
    info = path.stat()
    return file_key(str(path), info.st_ino, info.st_mtime_ns)


async def reupload(pipeline: Pipeline, key: str, path: Path) -> Result:
    assert pipeline.files is not None
    runner = CommandRunner({"reupload": pipeline.files.reupload})
    return await runner.run(Command("reupload", {"file_key": key, "path": str(path)}))


async def test_reupload_sends_the_file_again(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "a.hprof"
    data = write_file(dump, 300 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await pipeline.wait_for("upload_completed", dump.name)
    pipeline.server.uploads.uploads.clear()  # the server lost the blob
    result = await reupload(pipeline, key_of(dump), dump)
    assert result == Result(
        ok=True, data={"file_key": key_of(dump), "path": str(dump), "state": "queued"}
    )
    await until(lambda: _count(pipeline, "upload_completed", 2))
    assert pipeline.server.uploads.only().data == data
    assert await _count(pipeline, "created", 1)


async def test_reupload_resumes_a_failed_upload_where_it_stopped(pipeline: Pipeline) -> None:
    uploads = pipeline.server.uploads
    dump = pipeline.dumps / "b.hprof"
    data = write_file(dump, 1000 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await eventually(lambda: uploads.uploads and len(uploads.only().data) >= 256 * KIB)
    uploads.fail_next = 10_000  # the server breaks down: the agent gives up
    await pipeline.wait_for("upload_failed", dump.name)
    stored = len(uploads.only().data)
    uploads.fail_next = 0
    assert (await reupload(pipeline, key_of(dump), dump)).ok
    await pipeline.wait_for("upload_completed", dump.name)
    assert uploads.only().data == data
    assert uploads.bytes_received <= stored + (len(data) - stored) + uploads.chunk_size


async def test_reupload_of_a_gone_file_fails_and_says_missing(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "c.hprof"
    write_file(dump, 10 * KIB)
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps, after_upload="delete"),)))
    await pipeline.wait_for("upload_completed", dump.name)
    key = (await pipeline.notices())[0].key
    await eventually(lambda: not dump.exists())
    result = await reupload(pipeline, key, dump)
    assert result == Result(ok=False, error=f"{dump} is gone: nothing to upload again")
    missing = await pipeline.wait_for("missing", dump.name)
    assert (missing.key, missing.error) == (key, result.error)


async def test_reupload_of_a_file_this_agent_never_saw(pipeline: Pipeline) -> None:
    dump = pipeline.dumps / "elsewhere" / "d.hprof"  # outside every rule
    data = write_file(dump, 10 * KIB)
    await pipeline.start()
    unknown = await reupload(pipeline, "0" * 32, dump)
    assert unknown == Result(ok=False, error=f"{dump} is gone: nothing to upload again")
    assert (await reupload(pipeline, key_of(dump), dump)).ok  # a wiped state dir, say
    await pipeline.wait_for("upload_completed", dump.name)
    assert pipeline.server.uploads.by_key(key_of(dump)).data == data


async def test_reupload_arguments_are_checked(pipeline: Pipeline) -> None:
    await pipeline.start()
    assert pipeline.files is not None
    runner = CommandRunner({"reupload": pipeline.files.reupload})
    result = await runner.run(Command("reupload", {"path": "/x"}))
    assert result.error == "invalid reupload arguments: Object missing required field `file_key`"


async def _count(pipeline: Pipeline, event: str, n: int) -> bool:
    return [e for e, _ in await pipeline.events()].count(event) == n


async def test_a_reupload_while_the_last_upload_is_finishing_runs_after_it(
    server: FakeServer,
    agent_settings: AgentSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = uploader_module.apply_after_upload

    async def slow_after_upload(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(1.0)  # the server has seen upload_completed; the run goes on
        return await original(*args, **kwargs)

    monkeypatch.setattr(uploader_module, "apply_after_upload", slow_after_upload)
    dumps = tmp_path / "dumps"
    dump = dumps / "java_pid9.hprof"
    write_file(dump, 100 * KIB)
    server.config = AgentConfig(
        heartbeat_interval=0.2, metrics_interval=0.2, watch_rules=(rule(dumps),)
    )
    agent = Agent(
        dataclasses.replace(agent_settings, file_poll_interval=0.05), collectors=[TinyCollector()]
    )
    task = asyncio.create_task(agent.run())
    try:
        await eventually(
            lambda: (
                bool(server.nodes)
                and [n.event for n in server.only_node().notices][-1:] == ["upload_completed"]
            )
        )
        node = server.only_node()
        result = await server.command(
            node, "reupload", {"file_key": node.notices[0].key, "path": str(dump)}
        )
        assert result.ok, result.error
        await eventually(lambda: [n.event for n in node.notices].count("upload_completed") == 2)
    finally:
        agent.stop()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_whole_agent_reports_over_the_link(
    server: FakeServer, agent_settings: AgentSettings, tmp_path: Path
) -> None:
    dumps = tmp_path / "dumps"
    dump = dumps / "java_pid9.hprof"
    data = write_file(dump, 300 * KIB)
    server.config = AgentConfig(
        heartbeat_interval=0.2, metrics_interval=0.2, watch_rules=(rule(dumps),)
    )
    settings = dataclasses.replace(agent_settings, file_poll_interval=0.05)
    agent = Agent(settings, collectors=[TinyCollector()])
    task = asyncio.create_task(agent.run())
    try:
        await eventually(
            lambda: (
                server.nodes
                and [n.event for n in server.only_node().notices]
                == ["created", "upload_started", "upload_completed"]
            )
        )
        node = server.only_node()
        assert server.uploads.only().data == data
        assert node.notices[0].size == len(data)
        assert agent.link is not None
        await eventually(lambda: agent.link and agent.link.spool.pending("files") == 0)
        # The server asks again over the link (a manual retry).
        result = await server.command(
            node, "reupload", {"file_key": node.notices[0].key, "path": str(dump)}
        )
        assert result.ok, result.error
        # The server has it all already: the agent only confirms it.
        await eventually(lambda: [n.event for n in node.notices].count("upload_completed") == 2)
        assert [n.event for n in node.notices][3:] == ["upload_started", "upload_completed"]
        dump.unlink()
        result = await server.command(
            node, "reupload", {"file_key": node.notices[0].key, "path": str(dump)}
        )
        assert result == Result(ok=False, error=f"{dump} is gone: nothing to upload again")
        await eventually(lambda: node.notices[-1].event == "missing")
    finally:
        agent.stop()
        assert await task == EXIT_OK
