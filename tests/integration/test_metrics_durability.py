"""`kill -9` of a real `opsplane server` during ingest loses no acknowledged sample.

Two ingest paths, each against a real server process killed with SIGKILL mid-ingest:
remote write (every request answered 204 must be stored, exactly once) and a real agent
(its spool resends what was not acked: the series must have no hole and no duplicate).
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode
from opsplane.server.metrics.tsdb import TSDB, TSDBConfig
from opsplane.server.settings import Settings
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERIES = 20
# Short flushes so that the kills land on every state: WAL only, WAL + chunks, truncated WAL.
SERVER_ENV = {
    "OPSPLANE_METRICS_FLUSH_SECONDS": "2",
    "OPSPLANE_HEARTBEAT_INTERVAL": "1",
    "OPSPLANE_METRICS_INTERVAL": "1",
}


def api_token(server: ServerProcess) -> str:
    with server.client() as client:
        response = client.post("/api/v1/auth/tokens", json={"name": "remote-write"})
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@dataclass
class RemoteWriter:
    """Sends one sample per series per request (timestamp = request number) until stopped."""

    url: str
    token: str
    start_ms: int = field(default_factory=lambda: int(time.time() * 1000) - 60_000)
    acked: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failures: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def body(self, number: int) -> bytes:
        ts = np.array([self.start_ms + number], dtype=np.int64)
        return encode(
            WriteRequest(
                [
                    TimeSeries(
                        {"__name__": "durability_total", "series": str(i)},
                        ts,
                        np.array([float(number * SERIES + i)]),
                    )
                    for i in range(SERIES)
                ]
            )
        )

    def run(self) -> None:
        headers = {**HEADERS, "Authorization": f"Bearer {self.token}"}
        number = 0
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                self.sent.append(number)
                try:
                    response = client.post(
                        f"{self.url}/prometheus/api/v1/write",
                        content=self.body(number),
                        headers=headers,
                    )
                except httpx.HTTPError:
                    self.failures += 1
                    time.sleep(0.05)  # the server is down: resend the same request later
                    continue
                if response.status_code == 204:
                    self.acked.append(number)
                    number += 1
                else:
                    self.failures += 1
                    time.sleep(0.05)

    def start(self) -> RemoteWriter:
        self._thread = threading.Thread(target=self.run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)


def stored(data_dir: Path, name: str, start_ms: int, end_ms: int) -> dict[str, np.ndarray]:
    """Open the server's TSDB in this process (as the server would on start) and read."""

    async def read() -> dict[str, np.ndarray]:
        settings = Settings(data_dir=data_dir, log_json=False)
        tsdb = TSDB(TSDBConfig.from_settings(settings))
        await tsdb.open()
        try:
            found = await tsdb.select([LabelMatcher("__name__", "=", name)], start_ms, end_ms)
            return {s.labels["series"]: np.stack([s.timestamps, s.values]) for s in found}
        finally:
            await tsdb.close()

    return asyncio.run(read())


def test_remote_write_acked_samples_survive_kill_9(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env=SERVER_ENV).start(timeout=120)
    writer = RemoteWriter(server.url, api_token(server)).start()
    try:
        for pause in (1.5, 3.5, 0.7):  # kill inside WAL-only, post-flush, and mixed states
            wait_for(lambda: len(writer.acked) > 20, timeout=30, what="acked writes")
            time.sleep(pause)
            server.stop(signal.SIGKILL)
            time.sleep(0.3)
            server.start(timeout=120)
        wait_for(lambda: len(writer.acked) > 100, timeout=30, what="more acked writes")
    finally:
        writer.stop()
        server.stop()
    assert writer.failures > 0, "the kills never interrupted the writer"
    end = writer.start_ms + max(writer.sent) + 1
    found = stored(server.data_dir, "durability_total", writer.start_ms, end)
    assert sorted(found, key=int) == [str(i) for i in range(SERIES)]
    acked = set(writer.acked)
    for label, (timestamps, values) in found.items():
        numbers = (timestamps - writer.start_ms).astype(int)
        assert np.all(np.diff(numbers) > 0), f"series {label}: duplicated or unordered samples"
        missing = acked - set(numbers.tolist())
        assert not missing, f"series {label}: acked samples lost: {sorted(missing)[:10]}"
        assert set(numbers.tolist()) <= set(writer.sent)
        assert np.array_equal(values, numbers * SERIES + int(label))


def test_agent_samples_have_no_hole_after_kill_9(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", env=SERVER_ENV).start(timeout=120)
    with server.client() as client:
        secret = enrollment_token(client, name="durability")
    agent = AgentProcess(server.url, tmp_path / "agent", enroll=secret, name="node-d").start()
    try:
        with server.client() as client:
            node = wait_for(
                lambda: next(
                    (
                        n
                        for n in client.get("/api/v1/nodes").json()["items"]
                        if n["name"] == "node-d"
                    ),
                    None,
                ),
                timeout=30,
                what="the node",
            )
            first_ms = time.time() * 1000
        for pause in (3.0, 2.5):
            time.sleep(pause)
            server.stop(signal.SIGKILL)
            time.sleep(1.5)
            server.start(timeout=120)
        restarted_ms = time.time() * 1000
        with server.client() as client:

            def caught_up() -> list[int] | None:
                window = client.get(
                    f"/api/v1/nodes/{node['id']}/metrics",
                    params={"name": "host_load1", "since": 300},
                ).json()
                ts = [t for t, _ in window["series"][0]["points"]] if window["series"] else []
                return ts if ts and ts[-1] >= restarted_ms + 2000 else None

            ts = wait_for(caught_up, timeout=40, what="the agent's spool to drain")
    finally:
        agent.stop()
        server.stop()
    covered = [t for t in ts if t >= first_ms]
    assert len(covered) >= 8
    gaps = [(a, b) for a, b in itertools.pairwise(covered) if b - a != 1000]
    assert gaps == [], f"holes or duplicates in the agent's samples: {gaps[:5]}"
