"""A real Prometheus (2.42, `/usr/bin/prometheus`) on loopback, for differential and alerting tests.

`PrometheusServer(...).start()` writes a config (scrape configs, rule files, an Alertmanager),
starts Prometheus on a free port with the remote-write receiver on and its own temp storage,
waits until it is ready, and `stop()` ends it by its PID. The `prometheus` fixture is the
plain case; build a `PrometheusServer` yourself for rules or an Alertmanager:

    server = PrometheusServer(tmp_path / "prom", rule_files=[rules], alertmanager_url=am_url)
    server.start()
    ...
    server.stop()
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.env import free_port, require_binary


@dataclass
class PrometheusServer:
    """One Prometheus process; `url` is its base URL (the API is at `url/api/v1`)."""

    workdir: Path
    rule_files: Sequence[Path] = ()
    alertmanager_url: str | None = None
    scrape_configs: Sequence[Mapping[str, Any]] = ()
    remote_write_urls: Sequence[str] = ()
    """Where Prometheus remote-writes what it scrapes (sent within about a second)."""
    scrape_interval: str = "1s"
    evaluation_interval: str = "1s"
    retention: str = "2h"
    resend_delay: str = "1s"
    lookback_delta: str | None = None
    extra_args: Sequence[str] = ()
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "prometheus.log"

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.evaluation_interval,
            },
            "rule_files": [str(path) for path in self.rule_files],
            "scrape_configs": [dict(c) for c in self.scrape_configs],
        }
        if self.remote_write_urls:
            config["remote_write"] = [
                {
                    "url": url,
                    "queue_config": {"batch_send_deadline": "1s"},
                    "metadata_config": {"send_interval": "1s"},
                }
                for url in self.remote_write_urls
            ]
        if self.alertmanager_url:
            target = self.alertmanager_url.split("://", 1)[-1].rstrip("/")
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [target]}]}]}
        return config

    def command(self, binary: str) -> list[str]:
        args = [
            binary,
            f"--config.file={self.workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
            "--web.enable-lifecycle",
            f"--rules.alert.resend-delay={self.resend_delay}",
            "--log.level=warn",
        ]
        if self.lookback_delta:
            args.append(f"--query.lookback-delta={self.lookback_delta}")
        return [*args, *self.extra_args]

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        binary = require_binary("prometheus")
        self.workdir.mkdir(parents=True, exist_ok=True)
        # JSON is YAML: no YAML writer needed.
        (self.workdir / "prometheus.yml").write_text(json.dumps(self.config(), indent=2))
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(binary), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.tail()}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"prometheus not ready in {timeout} s: {self.tail()}")

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def reload(self) -> None:
        httpx.post(f"{self.url}/-/reload", timeout=10).raise_for_status()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def remote_write(self, body: bytes) -> None:
        """POST a remote write 1.0 body (already snappy-compressed protobuf)."""
        from opsplane.server.metrics.remote_write import HEADERS

        response = httpx.post(f"{self.url}/api/v1/write", content=body, headers=dict(HEADERS))
        if response.status_code >= 300:
            raise RuntimeError(f"remote write: {response.status_code} {response.text}")

    def api(self, path: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1/{path.lstrip('/')}", params=params, timeout=30)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[PrometheusServer]:
    """A real Prometheus with the remote-write receiver and 1 s scrape/evaluation intervals."""
    server = PrometheusServer(tmp_path / "prometheus").start()
    yield server
    server.stop()
