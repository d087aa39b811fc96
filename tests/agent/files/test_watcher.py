"""Stability, metadata, live rules and never announcing a file twice."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE
from pathlib import Path

from opsplane.protocol.session import AgentConfig
from tests.agent.files.conftest import Pipeline, rule, until, write_file


async def test_a_growing_file_is_announced_once_it_stops_changing(pipeline: Pipeline) -> None:
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps, stable_seconds=0.3),)))
    dump = pipeline.dumps / "java_pid1.hprof"
    with dump.open("wb") as out:
        for _ in range(12):
            out.write(os.urandom(8192))
            out.flush()
            await asyncio.sleep(0.08)
            assert await pipeline.events() == []
    created = await pipeline.wait_for("created", dump.name)
    assert created.size == 12 * 8192 == dump.stat().st_size


async def test_a_file_held_open_for_writing_waits_until_closed(pipeline: Pipeline) -> None:
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps, stable_seconds=0.0),)))
    dump = pipeline.dumps / "java_pid2.hprof"
    # Another process writes a first part, then keeps the file open without writing.
    code = (
        "import sys; f = open(sys.argv[1], 'wb'); f.write(b'x' * 4096); f.flush();"
        " print('ready', flush=True); sys.stdin.read(); f.write(b'y' * 4096)"
    )
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, str(dump), stdin=PIPE, stdout=PIPE
    )
    try:
        assert writer.stdout is not None
        assert await writer.stdout.readline() == b"ready\n"
        await asyncio.sleep(0.5)  # ten polls with a size that does not change
        assert await pipeline.events() == []
        await writer.communicate(b"")
    finally:
        if writer.returncode is None:
            writer.kill()
            await writer.wait()
    created = await pipeline.wait_for("created", dump.name)
    assert created.size == 8192


async def test_template_placeholders_become_metadata(pipeline: Pipeline) -> None:
    template = str(pipeline.dumps / "{namespace}" / "{app}" / "*.hprof")
    await pipeline.start(
        AgentConfig(watch_rules=(rule(pipeline.dumps, path_template=template, id="oom"),))
    )
    write_file(pipeline.dumps / "prod" / "shop" / "java_pid3.hprof", 1000)
    write_file(pipeline.dumps / "stray.hprof", 10)  # outside the template: no metadata
    created = await pipeline.wait_for("created", "java_pid3.hprof")
    assert (created.app, created.namespace, created.rule_id) == ("shop", "prod", "oom")
    assert created.metadata == {"namespace": "prod", "app": "shop"}
    assert created.size == 1000
    stray = await pipeline.wait_for("created", "stray.hprof")
    assert (stray.app, stray.namespace, stray.metadata) == (None, None, {})


async def test_rules_take_effect_live(pipeline: Pipeline, tmp_path: Path) -> None:
    await pipeline.start()
    write_file(pipeline.dumps / "early.hprof", 100)
    await asyncio.sleep(0.3)
    assert await pipeline.events() == []
    assert pipeline.live is not None
    await pipeline.live.apply(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    await pipeline.wait_for("created", "early.hprof")  # already there when the rule came
    await pipeline.live.apply(AgentConfig(watch_rules=()))
    await asyncio.sleep(0.1)
    write_file(pipeline.dumps / "late.hprof", 100)
    await asyncio.sleep(0.4)
    assert ("created", "late.hprof") not in await pipeline.events()


async def test_patterns_decide_and_empty_or_temp_files_are_ignored(pipeline: Pipeline) -> None:
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    write_file(pipeline.dumps / "notes.txt", 100)
    write_file(pipeline.dumps / ".java_pid4.hprof.gz.opsplane-tmp", 100)
    (pipeline.dumps / "empty.hprof").touch()
    write_file(pipeline.dumps / "deep" / "er" / "java_pid4.hprof.gz", 100)
    await pipeline.wait_for("created", "java_pid4.hprof.gz")
    await asyncio.sleep(0.3)
    assert [e for e in await pipeline.events() if e[0] == "created"] == [
        ("created", "java_pid4.hprof.gz")
    ]


async def test_a_restart_never_announces_a_known_file_again(pipeline: Pipeline) -> None:
    await pipeline.start(AgentConfig(watch_rules=(rule(pipeline.dumps),)))
    write_file(pipeline.dumps / "java_pid5.hprof", 5000)
    await pipeline.wait_for("upload_completed", "java_pid5.hprof")
    await pipeline.restart()
    await asyncio.sleep(0.4)
    events = await pipeline.events()
    assert events.count(("created", "java_pid5.hprof")) == 1
    # The same path rewritten is a new file (new mtime): announced again.
    write_file(pipeline.dumps / "java_pid5.hprof", 6000)
    os.utime(pipeline.dumps / "java_pid5.hprof", ns=(1, 1))
    await until(
        lambda: _count(pipeline, ("created", "java_pid5.hprof"), 2),
    )


async def _count(pipeline: Pipeline, event: tuple[str, str], n: int) -> bool:
    return (await pipeline.events()).count(event) == n


async def test_a_watch_path_that_is_not_a_directory_is_a_problem(pipeline: Pipeline) -> None:
    not_a_dir = pipeline.dumps / "file"
    not_a_dir.write_text("x")
    rules = (rule(not_a_dir), rule(pipeline.dumps / "absent", id="r2"))
    files = await pipeline.start(AgentConfig(watch_rules=rules))
    await until(lambda: asyncio.sleep(0, files.problems()))
    # A directory that does not exist is not a problem: rules go to many nodes.
    assert files.problems() == [f"cannot watch {not_a_dir}: Not a directory"]


async def test_a_rule_that_cannot_work_is_skipped_and_reported(pipeline: Pipeline) -> None:
    broken = rule(pipeline.dumps, id="r2", name="broken", paths=("dumps",))
    files = await pipeline.start(AgentConfig(watch_rules=(broken, rule(pipeline.dumps))))
    write_file(pipeline.dumps / "java_pid6.hprof", 100)
    await pipeline.wait_for("created", "java_pid6.hprof")  # the good rule works
    assert files.problems() == [
        "watch rule 'broken' skipped: paths must be absolute, got ['dumps']"
    ]
