"""A real server with the Jenkins backend and a Jenkins double whose build does what a real
analysis job does: download the dump from DOWNLOAD_URL, archive a report, POST CALLBACK_URL.
Plus: a watch rule created while an agent is connected reaches it live."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_dump_pipeline_faults import (
    only_file,
    start_agent,
    upload_as_watcher,
    wait_analyzed,
    watch,
)
from tests.support.jenkins_double import Build, JenkinsDouble
from tests.support.processes import ServerProcess, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "server", env={"OPSPLANE_HEARTBEAT_INTERVAL": "1"})
    process.env["OPSPLANE_PUBLIC_URL"] = process.url
    process.env["OPSPLANE_DUMPS_JENKINS_POLL_INTERVAL"] = "0.2"
    process.start()
    yield process
    process.close()


def analysis_job(build: Build, jenkins: JenkinsDouble) -> str:
    """The job script: fetch the dump, 'analyse' it, archive the report, call back."""
    dump = httpx.get(build.params["DOWNLOAD_URL"], timeout=30)
    dump.raise_for_status()
    digest = hashlib.sha256(dump.content).hexdigest()
    build.console.append(f"downloaded {len(dump.content)} bytes sha256={digest}")
    build.artifacts["report.html"] = f"<html><body>sha256 {digest}</body></html>".encode()
    report_url = f"{jenkins.url}/job/{build.job}/{build.number}/artifact/report.html"
    answer = httpx.post(
        build.params["CALLBACK_URL"],
        json={
            "status": "success",
            "report_url": report_url,
            "report": {
                "summary": {"heap_bytes": len(dump.content)},
                "leak_suspects": [
                    {
                        "kind": "class",
                        "class": "com.acme.Cache",
                        "instances": 3,
                        "retained_bytes": 100,
                        "heap_fraction": 0.5,
                    }
                ],
            },
        },
        timeout=30,
    )
    build.console.append(f"callback answered {answer.status_code}")
    return "SUCCESS" if answer.status_code == 200 else "FAILURE"


def test_jenkins_job_downloads_and_calls_back(server: ServerProcess) -> None:
    jenkins = JenkinsDouble(user="bot", token="tok", on_build=analysis_job).start()
    try:
        client = server.client()
        settings = client.put(
            "/api/v1/dumps/settings",
            json={
                "backend": "jenkins",
                "jenkins_url": jenkins.url,
                "jenkins_user": "bot",
                "jenkins_token": "tok",
                "jenkins_job": "heapdump",
            },
        )
        assert settings.status_code == 200, settings.text
        data = b"heap bytes " * 10_000
        file_id = upload_as_watcher(client, data)
        done = wait_analyzed(client, file_id, timeout=60)
    finally:
        jenkins.stop()
    digest = hashlib.sha256(data).hexdigest()
    assert done["report"]["leak_suspects"][0]["class"] == "com.acme.Cache"
    analysis = next(p for p in done["processing"] if p["step"] == "analysis")
    job_id = analysis["details"]["jenkins_job_id"]
    logs = client.get(f"/api/v1/jenkins/logs/{job_id}").text
    assert f"sha256={digest}" in logs
    assert "callback answered 200" in logs
    link = client.get(f"/api/v1/reports/{file_id}").json()
    page = httpx.get(link["url"], timeout=30)
    assert page.status_code == 200
    assert digest in page.text


def test_watch_rule_reaches_a_connected_agent_live(server: ServerProcess, tmp_path: Path) -> None:
    client = server.client()
    agent = start_agent(server, client, tmp_path / "agent", "live-host")
    try:
        watch(client, tmp_path / "dumps")  # created after the agent connected
        target = tmp_path / "dumps" / "java_pid42.hprof"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"not really a dump" * 1000)
        file = wait_for(lambda: only_file(client), timeout=60, interval=0.3, what="file noticed")
    finally:
        agent.stop()
    assert file["node"] == "live-host"
    assert file["file_name"] == "java_pid42.hprof"
