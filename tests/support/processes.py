"""Real `opsplane server` and `opsplane agent` processes on loopback, for integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.env import free_port

ADMIN_PASSWORD = "admin-test-password"


def _opsplane(*args: str) -> list[str]:
    return [sys.executable, "-m", "opsplane", *args]


@dataclass
class ServerProcess:
    """`opsplane server` in a subprocess; stop it gracefully or kill -9 it, start it again."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> ServerProcess:
        env = {
            **os.environ,
            "OPSPLANE_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "OPSPLANE_LOG_LEVEL": "info",
            **self.env,
        }
        self.log_path = self.log_path or self.data_dir.parent / f"server-{self.port}.log"
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            _opsplane("server", "--port", str(self.port), "--data-dir", str(self.data_dir)),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready in {timeout} s: {self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self, token: str | None = None) -> httpx.Client:
        """An authenticated client, closed by `close()` at the end of the test."""
        token = token or login(self.url)
        client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        self.clients.append(client)
        return client

    def close(self) -> None:
        self.stop()
        for client in self.clients:
            client.close()


def login(url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    response = httpx.post(
        f"{url}/api/v1/auth/login", json={"username": username, "password": password}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def enrollment_token(client: httpx.Client, **body: Any) -> str:
    response = client.post("/api/v1/agents/enrollment-tokens", json=body)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


@dataclass
class AgentProcess:
    """`opsplane agent` in a subprocess with its own state directory."""

    server_url: str
    state_dir: Path
    enroll: str | None = None
    name: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AgentProcess:
        args = ["agent", "--server", self.server_url, "--state-dir", str(self.state_dir)]
        if self.enroll:
            args += ["--enroll", self.enroll]
        if self.name:
            args += ["--name", self.name]
        self.state_dir.mkdir(parents=True, exist_ok=True)
        log = (self.state_dir.parent / f"agent-{self.state_dir.name}.log").open("ab")
        self.proc = subprocess.Popen(
            _opsplane(*args), env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log(self) -> str:
        path = self.state_dir.parent / f"agent-{self.state_dir.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    """Poll `predicate()` until it returns something truthy; TimeoutError naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(
        f"timed out after {timeout} s waiting for {what or predicate} (last: {last!r})"
    )
