"""Running the server under uvicorn, alone (`opsplane server`) or with a local agent (`run`)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import sys
from datetime import timedelta
from pathlib import Path

import uvicorn
from pydantic import SecretStr

from opsplane.runtime import tune_gc
from opsplane.server.app import create_app
from opsplane.server.logging import configure_logging
from opsplane.server.manage import create_enrollment_token
from opsplane.server.settings import Settings


def uvicorn_config(settings: Settings) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        ws_per_message_deflate=False,  # zlib state per link costs ~100 KB x thousands of agents
        ws_max_size=16 * 1024 * 1024,
        ws_ping_interval=30,
        ws_ping_timeout=30,
        timeout_graceful_shutdown=10,
        backlog=4096,
    )


def serve(settings: Settings) -> None:
    configure_logging(level=settings.log_level, json=settings.log_json)
    server = uvicorn.Server(uvicorn_config(settings))
    tune_gc()
    server.run()


def _dev_admin_password(settings: Settings) -> str | None:
    """For `make run` only: keep the generated first password in the data dir (mode 0600)."""
    if settings.admin_password is not None:
        return settings.admin_password.get_secret_value()
    path = settings.data_dir / "admin-password.txt"
    if path.exists():
        return path.read_text().strip()
    if (settings.data_dir / "opsplane.db").exists():
        return None
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    path.touch(mode=0o600)
    path.write_text(password + "\n")
    return password


def _agent_command(url: str, token: str | None, state_dir: Path) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "opsplane",
        "agent",
        "--server",
        url,
        "--state-dir",
        str(state_dir),
    ]
    return [*cmd, "--enroll", token] if token else cmd


async def _run_with_agent(settings: Settings, agent_state: Path) -> None:
    server = uvicorn.Server(uvicorn_config(settings))
    tune_gc()
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():  # noqa: ASYNC110 - uvicorn has no event
        await asyncio.sleep(0.05)
    if serving.done():
        await serving
        return
    url = f"http://{settings.host}:{settings.port}"
    token = None
    if not (agent_state / "credential.json").exists():
        token = await create_enrollment_token(
            settings, name="local agent", max_uses=1, expires_in=timedelta(hours=1)
        )
    agent = await asyncio.create_subprocess_exec(*_agent_command(url, token, agent_state))
    password = _dev_admin_password(settings)
    login = f"admin / {password}" if password else "admin / (the password you set)"
    print(
        f"\n  opsplane is running: {url}\n  login: {login}\n  Ctrl-C stops it.\n",
        file=sys.stderr,
        flush=True,
    )
    try:
        await serving
    finally:
        # The agent outlives nothing it supervises: SIGTERM lets it flush its spool and exit.
        with contextlib.suppress(ProcessLookupError):
            agent.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(agent.wait(), 10)


def run_with_local_agent(settings: Settings) -> None:
    configure_logging(level=settings.log_level, json=settings.log_json)
    password = _dev_admin_password(settings)
    if password and settings.admin_password is None:
        settings = settings.model_copy(update={"admin_password": SecretStr(password)})
    asyncio.run(_run_with_agent(settings, settings.data_dir / "agent"))
