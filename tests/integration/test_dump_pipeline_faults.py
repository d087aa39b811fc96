"""Fault tests of the dump pipeline with real processes: the server or the agent killed in
the middle of an upload (the upload resumes, the sha256 matches), an analysis worker that
dies (the step fails, is retried automatically, both attempts are in the history), retries
that run out (a notification reaches a real webhook receiver), and a manual retry of a
failed upload that goes over the link to the agent holding the file."""

from __future__ import annotations

import hashlib
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.integration.test_dump_pipeline_jvm import compile_leaky_program, run_until_oom
from tests.server.alerts.receiver import Receiver
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAST = {
    "OPSPLANE_HEARTBEAT_INTERVAL": "1",
    "OPSPLANE_DUMPS_CHUNK_SIZE": str(1 << 20),
    "OPSPLANE_DUMPS_RETRY_CHECK_INTERVAL": "0.3",
    "OPSPLANE_DUMPS_RETRY_BASE_DELAY": "0.5",
    "OPSPLANE_DUMPS_RETRY_MAX_ANALYSIS": "1",
}


@pytest.fixture(scope="module")
def jvm_dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real OOM heap dump (~34 MB) for every test here."""
    where = tmp_path_factory.mktemp("jvm")
    out = where / "out"
    out.mkdir()
    run_until_oom(compile_leaky_program(where / "java"), out)
    return next(out.glob("java_pid*.hprof"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "server", env=dict(FAST)).start()
    yield process
    process.close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def detail(client: httpx.Client, file_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/files/{file_id}")
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def only_file(client: httpx.Client) -> dict[str, Any] | None:
    items = client.get("/api/v1/files").json()["items"]
    return detail(client, items[0]["id"]) if items else None


def watch(client: httpx.Client, root: Path, **extra: Any) -> None:
    body = {
        "name": f"w-{root.name}",
        "paths": [str(root)],
        "patterns": ["*.hprof"],
        "stable_seconds": 1,
        **extra,
    }
    assert client.post("/api/v1/dumps/watch-rules", json=body).status_code == 201


def drop_dump(jvm_dump: Path, directory: Path) -> Path:
    """Put the dump in the watched directory the way a JVM does: written, then left alone."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / jvm_dump.name
    shutil.copyfile(jvm_dump, target)
    return target


def wait_uploaded_fraction(client: httpx.Client, fraction: float) -> dict[str, Any]:
    def progressed() -> dict[str, Any] | None:
        file = only_file(client)
        upload = file and file["upload"]
        if upload and upload["offset"] >= fraction * upload["size"]:
            return file
        return None

    result: dict[str, Any] = wait_for(progressed, timeout=120, interval=0.1, what="upload progress")
    return result


def wait_analyzed(client: httpx.Client, file_id: int, timeout: float = 240) -> dict[str, Any]:
    def analysed() -> dict[str, Any] | None:
        body = detail(client, file_id)
        return body if body["status"] == "analyzed" else None

    result: dict[str, Any] = wait_for(analysed, timeout=timeout, interval=0.5, what="analysed")
    return result


def start_agent(
    server: ServerProcess, client: httpx.Client, state: Path, name: str
) -> AgentProcess:
    agent = AgentProcess(server.url, state, enroll=enrollment_token(client), name=name).start()
    wait_for(
        lambda: any(
            n["name"] == name and n["status"] == "online"
            for n in client.get("/api/v1/nodes").json()["items"]
        ),
        timeout=60,
        what=f"{name} online",
    )
    return agent


def limit_bandwidth(client: httpx.Client, bytes_per_second: int) -> None:
    response = client.put(
        "/api/v1/dumps/settings", json={"upload_bytes_per_second": bytes_per_second}
    )
    assert response.status_code == 200, response.text


def test_server_killed_mid_upload_resumes(
    server: ServerProcess, tmp_path: Path, jvm_dump: Path
) -> None:
    client = server.client()
    limit_bandwidth(client, 4 << 20)  # ~9 s for the dump: time to kill the server mid-way
    watch(client, tmp_path / "dumps")
    agent = start_agent(server, client, tmp_path / "agent", "kill-server-host")
    try:
        local = drop_dump(jvm_dump, tmp_path / "dumps")
        before = wait_uploaded_fraction(client, 0.25)
        assert before["upload"]["offset"] < before["upload"]["size"]
        server.stop(signal.SIGKILL)
        time.sleep(1)
        server.start()
        client = server.client()
        after = wait_analyzed(client, before["id"])
    finally:
        agent.stop()
    assert after["upload"]["upload_id"] == before["upload"]["upload_id"]  # resumed, not redone
    assert after["sha256"] == sha256(local)
    opened = client.get("/api/v1/audit", params={"action": "dumps.upload.open"}).json()["items"]
    assert len(opened) == 1
    assert after["report"]["leak_suspects"][0]["class"] == "OomLeak$SessionCache"


def test_agent_killed_mid_upload_resumes(
    server: ServerProcess, tmp_path: Path, jvm_dump: Path
) -> None:
    client = server.client()
    limit_bandwidth(client, 4 << 20)
    watch(client, tmp_path / "dumps")
    state = tmp_path / "agent"
    agent = start_agent(server, client, state, "kill-agent-host")
    local = drop_dump(jvm_dump, tmp_path / "dumps")
    before = wait_uploaded_fraction(client, 0.25)
    agent.stop(signal.SIGKILL)
    stopped_at = detail(client, before["id"])["upload"]["offset"]
    agent = AgentProcess(server.url, state, name="kill-agent-host").start()  # no enrolling
    try:
        after = wait_analyzed(client, before["id"])
    finally:
        agent.stop()
    assert stopped_at < after["size"]
    assert after["upload"]["upload_id"] == before["upload"]["upload_id"]
    assert after["sha256"] == sha256(local)
    uploads = [p for p in after["processing"] if p["step"] == "upload"]
    assert [p["status"] for p in uploads] == ["success"]  # one attempt, resumed


def _worker_of(server: ServerProcess) -> psutil.Process | None:
    assert server.proc is not None
    for child in psutil.Process(server.proc.pid).children(recursive=True):
        try:
            if "opsplane.server.dumps.worker" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def upload_as_watcher(client: httpx.Client, data: bytes, name: str = "java_pid1.hprof") -> int:
    opened = client.post(
        "/api/v1/uploads",
        json={
            "file_key": name,
            "path": f"/dumps/{name}",
            "size": len(data),
            "node": "ext-1",
            "app": "shop",
        },
    ).json()
    offset = 0
    while offset < len(data):
        chunk = data[offset : offset + opened["chunk_size"]]
        answer = client.put(
            f"/api/v1/uploads/{opened['upload_id']}/chunks",
            params={"offset": offset},
            content=chunk,
            headers={"content-type": "application/octet-stream"},
        )
        answer.raise_for_status()
        offset = answer.json()["offset"]
    done = client.post(
        f"/api/v1/uploads/{opened['upload_id']}/complete",
        json={"sha256": hashlib.sha256(data).hexdigest()},
    )
    assert done.status_code == 200, done.text
    return int(opened["file_id"])


def test_crashed_analysis_is_retried_automatically(server: ServerProcess, jvm_dump: Path) -> None:
    client = server.client()
    file_id = upload_as_watcher(client, jvm_dump.read_bytes())
    worker = wait_for(lambda: _worker_of(server), timeout=60, interval=0.05, what="worker")
    worker.send_signal(signal.SIGKILL)
    after = wait_analyzed(client, file_id)
    analysis = [p for p in after["processing"] if p["step"] == "analysis"]
    assert [(p["status"], p["error_type"]) for p in analysis] == [
        ("failed", "crashed"),
        ("success", None),
    ]
    assert "SIGKILL" in analysis[0]["error"]
    assert [(r["retry_type"], r["status"], r["count"]) for r in after["retries"]] == [
        ("analysis", "succeeded", 1)
    ]
    assert server.proc is not None
    assert server.proc.poll() is None


def test_exhausted_retries_reach_a_webhook(server: ServerProcess) -> None:
    receiver = Receiver().start()
    try:
        client = server.client()
        channel = client.post(
            "/api/v1/alerts/channels",
            json={"name": "oncall", "type": "webhook", "url": receiver.url},
        )
        assert channel.status_code == 201, channel.text
        time.sleep(0.5)
        file_id = upload_as_watcher(client, b"this is not a heap dump" * 100)
        received = receiver.wait(1, timeout=60)
    finally:
        receiver.stop()
    alert = received[0].json()["alerts"][0]
    assert alert["labels"]["alertname"] == "HeapDumpRetriesExhausted"
    assert alert["labels"]["file_id"] == str(file_id)
    assert alert["status"] == "firing"
    body = detail(client, file_id)
    assert [p["error_type"] for p in body["processing"] if p["step"] == "analysis"] == [
        "bad_dump",
        "bad_dump",
    ]
    assert body["retries"][0]["status"] == "exhausted"


def test_manual_retry_of_a_failed_upload_reaches_the_right_agent(
    tmp_path: Path, jvm_dump: Path
) -> None:
    # First the server takes no file this large: the agent's upload is refused and fails.
    server = ServerProcess(
        tmp_path / "server",
        env={
            **FAST,
            "OPSPLANE_DUMPS_MAX_FILE_BYTES": "1000",
            "OPSPLANE_DUMPS_RETRY_MAX_UPLOAD": "0",
        },
    ).start()
    agents: list[AgentProcess] = []
    try:
        client = server.client()
        watch(client, tmp_path / "a-dumps", node_ids=["holder"])
        watch(client, tmp_path / "b-dumps", node_ids=["bystander"])
        agents.append(start_agent(server, client, tmp_path / "agent-a", "holder"))
        agents.append(start_agent(server, client, tmp_path / "agent-b", "bystander"))
        local = drop_dump(jvm_dump, tmp_path / "a-dumps")
        failed = wait_for(
            lambda: (f := only_file(client)) and f["status"] == "failed" and f,
            timeout=120,
            interval=0.3,
            what="upload failed",
        )
        assert failed["node"] == "holder"
        # Then the limit is lifted (a restart with new settings) and an operator retries.
        server.stop()
        server.env.pop("OPSPLANE_DUMPS_MAX_FILE_BYTES")
        server.start()
        client = server.client()
        node_ids = [n["id"] for n in client.get("/api/v1/nodes").json()["items"]]
        wait_for(
            lambda: all(client.get(f"/api/v1/nodes/{n}").json()["connected"] for n in node_ids),
            timeout=60,
            what="agents linked again",
        )
        retried = client.post(f"/api/v1/files/{failed['id']}/retry").json()
        assert (retried["step"], retried["dispatched"]) == ("upload", True), retried
        after = wait_analyzed(client, failed["id"])
        logs = [a.log() for a in agents]
    finally:
        for agent in agents:
            agent.stop()
        server.close()
    assert after["sha256"] == sha256(local)
    assert "reupload queued" in logs[0]
    assert "reupload" not in logs[1]
    uploads = [
        (p["status"], p["details"].get("trigger"))
        for p in after["processing"]
        if p["step"] == "upload"
    ]
    assert uploads[-1] == ("success", "reupload")
