"""End to end with a real JVM: a program run with -XX:+HeapDumpOnOutOfMemoryError dies of OOM
in a watched directory; a real `opsplane agent` notices the dump and uploads it; the real
server's built-in backend analyses it; the report's first leak suspect names the leaking class.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.env import require_binary
from tests.support.processes import AgentProcess, ServerProcess, enrollment_token, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEAKY_PROGRAM = """
import java.util.ArrayList;
import java.util.List;

public class OomLeak {
    static final class LeakedSession {
        final byte[] payload = new byte[16 * 1024];
        final long id;
        LeakedSession(long id) { this.id = id; }
    }
    static final class SessionCache {
        final List<LeakedSession> sessions = new ArrayList<>();
        void remember(LeakedSession s) { sessions.add(s); }
    }
    static final SessionCache CACHE = new SessionCache();
    public static void main(String[] args) {
        for (long i = 0; ; i++) { CACHE.remember(new LeakedSession(i)); }
    }
}
"""


def compile_leaky_program(where: Path) -> Path:
    require_binary("javac")
    where.mkdir(parents=True, exist_ok=True)
    (where / "OomLeak.java").write_text(LEAKY_PROGRAM)
    subprocess.run(["javac", "OomLeak.java"], cwd=where, check=True, timeout=120)
    return where


def run_until_oom(classes: Path, dump_dir: Path) -> subprocess.CompletedProcess[str]:
    java = require_binary("java")
    return subprocess.run(
        [
            java,
            "-Xmx32m",
            "-XX:+HeapDumpOnOutOfMemoryError",
            f"-XX:HeapDumpPath={dump_dir}",
            "-cp",
            str(classes),
            "OomLeak",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path / "server",
        env={"OPSPLANE_HEARTBEAT_INTERVAL": "1", "OPSPLANE_DUMPS_RETRY_CHECK_INTERVAL": "0.5"},
    )
    process.start()
    yield process
    process.close()


def test_oom_dump_goes_from_jvm_to_analysed_report(server: ServerProcess, tmp_path: Path) -> None:
    classes = compile_leaky_program(tmp_path / "java")
    root = tmp_path / "dumps"
    dump_dir = root / "prod" / "shop"
    dump_dir.mkdir(parents=True)
    client = server.client()
    rule = client.post(
        "/api/v1/dumps/watch-rules",
        json={
            "name": "jvm-oom",
            "paths": [str(root)],
            "patterns": ["*.hprof"],
            "path_template": f"{root}/{{namespace}}/{{app}}/*.hprof",
            "stable_seconds": 1,
        },
    )
    assert rule.status_code == 201, rule.text
    agent = AgentProcess(
        server.url, tmp_path / "agent", enroll=enrollment_token(client), name="jvm-host"
    ).start()
    try:
        wait_for(
            lambda: client.get("/api/v1/nodes").json()["items"], timeout=60, what="agent online"
        )
        died = run_until_oom(classes, dump_dir)
        assert "java.lang.OutOfMemoryError" in died.stdout + died.stderr
        assert list(dump_dir.glob("java_pid*.hprof"))

        def analysed() -> dict | None:
            items = client.get("/api/v1/files").json()["items"]
            if items and items[0]["status"] == "failed":
                raise AssertionError(client.get(f"/api/v1/files/{items[0]['id']}").text)
            return items[0] if items and items[0]["status"] == "analyzed" else None

        file = wait_for(analysed, timeout=240, interval=0.5, what="file analysed")
    finally:
        agent.stop()
    assert (file["node"], file["app"], file["namespace"]) == ("jvm-host", "shop", "prod")
    assert file["file_name"].startswith("java_pid")
    assert file["size"] > 1_000_000
    detail = client.get(f"/api/v1/files/{file['id']}").json()
    first = detail["report"]["leak_suspects"][0]
    assert first["class"] == "OomLeak$SessionCache", first
    assert first["heap_fraction"] > 0.5
    assert "OomLeak$SessionCache" in detail["report"]["summary"]
    link = client.get(f"/api/v1/reports/{file['id']}").json()
    page = httpx.get(link["url"].replace("http://127.0.0.1:8080", server.url), timeout=30)
    assert page.status_code == 200
    assert "OomLeak$SessionCache" in page.text
