from __future__ import annotations

import asyncio
import time
from pathlib import Path

from opsplane.agent.commands import CommandError, CommandRunner, builtin_handlers
from opsplane.agent.config import LiveConfig
from opsplane.agent.state import StateDir
from opsplane.protocol.commands import Command, Result
from opsplane.protocol.session import AgentConfig


def runner(tmp_path: Path) -> tuple[CommandRunner, LiveConfig]:
    state = StateDir(tmp_path)
    live = LiveConfig(AgentConfig(), persist=state.save_config)
    return CommandRunner(builtin_handlers(live)), live


async def test_ping_echoes_sent_at_with_agent_time(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)
    before = time.time()
    result = await commands.run(Command("ping", {"sent_at": 12.5}))
    assert result.ok
    assert result.data["sent_at"] == 12.5
    assert before <= result.data["agent_time"] <= time.time()


async def test_bad_arguments_are_a_clear_error(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)
    result = await commands.run(Command("ping", {"sent_at": "soon"}))
    assert not result.ok
    assert result.error
    assert result.error.startswith("invalid ping arguments")


async def test_unknown_command(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)
    assert await commands.run(Command("reboot")) == Result(
        ok=False, error="unknown command 'reboot'"
    )


async def test_past_deadline_is_not_started(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)
    result = await commands.run(Command("ping", {"sent_at": 1.0}, deadline=time.time() - 1))
    assert result == Result(ok=False, error="deadline exceeded")


async def test_config_is_applied_and_persisted(tmp_path: Path) -> None:
    commands, live = runner(tmp_path)
    args = {"heartbeat_interval": 1.0, "metrics_interval": 2.0, "labels": {"role": "db"}}
    result = await commands.run(Command("config", args))
    assert result.ok, result.error
    assert result.data["labels"] == {"role": "db"}
    assert live.current == AgentConfig(1.0, 2.0, {"role": "db"})
    assert StateDir(tmp_path).load_config() == live.current


async def test_invalid_config_is_refused_and_not_applied(tmp_path: Path) -> None:
    commands, live = runner(tmp_path)
    result = await commands.run(Command("config", {"heartbeat_interval": 0}))
    assert not result.ok
    assert result.error
    assert "heartbeat_interval must be at least" in result.error
    assert live.current == AgentConfig()
    assert StateDir(tmp_path).load_config() is None


async def test_handler_errors_become_results(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)

    async def refuse(_: Command) -> None:
        raise CommandError("not today")

    async def crash(_: Command) -> None:
        raise RuntimeError("boom")

    commands.register("refuse", refuse)
    commands.register("crash", crash)
    assert await commands.run(Command("refuse")) == Result(ok=False, error="not today")
    result = await commands.run(Command("crash"))
    assert not result.ok
    assert result.error == "crash failed: RuntimeError: boom"


async def test_submit_runs_in_background_and_replies_with_frame_id(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)
    release = asyncio.Event()

    async def slow(_: Command) -> str:
        await release.wait()
        return "done"

    commands.register("slow", slow)
    replies: list[tuple[str | None, Result]] = []

    async def reply(frame_id: str | None, result: Result) -> None:
        replies.append((frame_id, result))

    commands.submit("a", Command("slow"), reply)
    commands.submit("b", Command("ping", {"sent_at": 1.0}), reply)
    for _ in range(100):
        if replies:
            break
        await asyncio.sleep(0.01)
    assert [frame_id for frame_id, _ in replies] == ["b"]  # not stuck behind "slow"
    release.set()
    for _ in range(100):
        if len(replies) == 2:
            break
        await asyncio.sleep(0.01)
    assert replies[1] == ("a", Result(ok=True, data="done"))
    await commands.aclose()


async def test_aclose_cancels_running_commands(tmp_path: Path) -> None:
    commands, _ = runner(tmp_path)

    async def forever(_: Command) -> None:
        await asyncio.Event().wait()

    async def reply(frame_id: str | None, result: Result) -> None:
        raise AssertionError("no reply expected")

    commands.register("forever", forever)
    commands.submit("x", Command("forever"), reply)
    await asyncio.sleep(0)
    await commands.aclose()
