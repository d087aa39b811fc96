"""The Jenkins backend against a double speaking Jenkins's REST API as python-jenkins calls it:
crumb, buildWithParameters, queue item, build JSON, console text; plus the signed download
and callback routes the job uses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from opsplane.server.dumps.models import DumpSettingsRow
from tests.server.dumps.conftest import Api
from tests.support.jenkins_double import Build, JenkinsDouble


@pytest.fixture
def jenkins() -> Iterator[JenkinsDouble]:
    double = JenkinsDouble(user="ci-bot", token="s3cret-api-token").start()
    yield double
    double.stop()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def use_jenkins(api: Api, jenkins: JenkinsDouble) -> None:
    settings = await api.call(
        "PUT",
        "/dumps/settings",
        json={
            "backend": "jenkins",
            "jenkins_url": jenkins.url,
            "jenkins_user": "ci-bot",
            "jenkins_token": "s3cret-api-token",
            "jenkins_job": "heap-analysis",
        },
    )
    assert settings["backend"] == "jenkins"
    assert settings["jenkins_token_set"] is True
    assert "jenkins_token" not in settings


async def wait_build(jenkins: JenkinsDouble, number: int = 1) -> Build:
    deadline = time.monotonic() + 20
    while number not in jenkins.builds:
        assert time.monotonic() < deadline, jenkins.requests
        await asyncio.sleep(0.02)
    return jenkins.builds[number]


async def test_jenkins_build_with_callback(api: Api, jenkins: JenkinsDouble) -> None:
    await use_jenkins(api, jenkins)
    async with api.ctx.db.session() as session:
        row = await session.scalar(select(DumpSettingsRow))
        assert row is not None
        assert "s3cret" not in row.sealed  # encrypted at rest
        assert "s3cret" not in str(row.values)
    data = b"LEAK irrelevant\n" + b"d" * 5000
    file_id = await api.upload(data)
    build = await wait_build(jenkins)
    params = build.params
    assert params["FILE_ID"] == str(file_id)
    assert (params["NODE"], params["APP"], params["NAMESPACE"]) == ("host-1", "shop", "prod")
    posts = [h for m, p, h in jenkins.requests if m == "POST"]
    assert posts[0]["jenkins-crumb"] == "c0ffee"
    assert posts[0]["authorization"].startswith("Basic ")

    anonymous = httpx.AsyncClient(transport=api.client._transport, base_url="http://testserver")
    async with anonymous:
        # the job downloads the dump with its signed URL, no login
        dump = await anonymous.get(local(params["DOWNLOAD_URL"]))
        assert dump.status_code == 200
        assert dump.content == data
        assert (await anonymous.get(local(params["DOWNLOAD_URL"])[:-3] + "abc")).status_code == 403
        build.artifacts["report.html"] = b"<html><body>Jenkins says: com.acme.Leak</body></html>"
        report_url = f"{jenkins.url}/job/heap-analysis/{build.number}/artifact/report.html"
        callback = {
            "status": "success",
            "report_url": report_url,
            "report": {
                "summary": {"heap_bytes": 1000},
                "leak_suspects": [
                    {
                        "kind": "class",
                        "class": "com.acme.Leak",
                        "instances": 7,
                        "retained_bytes": 800,
                        "heap_fraction": 0.8,
                    }
                ],
            },
        }
        forged = local(params["CALLBACK_URL"]).replace(f"/callback/{file_id}", "/callback/999")
        assert (await anonymous.post(forged, json=callback)).status_code == 403
        answer = await anonymous.post(local(params["CALLBACK_URL"]), json=callback)
        assert answer.status_code == 200, answer.text
    build.console.append("analysing...")
    jenkins.finish(build.number, "SUCCESS")
    detail = await api.wait_status(file_id, "analyzed", "failed")
    assert detail["status"] == "analyzed", detail
    analysis = next(p for p in detail["processing"] if p["step"] == "analysis")
    assert analysis["backend"] == "jenkins"
    assert analysis["details"]["build_url"].endswith(f"/job/heap-analysis/{build.number}/")
    assert detail["report"]["leak_suspects"][0]["class"] == "com.acme.Leak"
    job_id = analysis["details"]["jenkins_job_id"]
    job = await api.call("GET", f"/jenkins/status/{job_id}")
    assert (job["status"], job["result"], job["report_url"]) == ("success", "SUCCESS", report_url)
    assert job["queue_id"] == 1
    assert job["build_number"] == build.number
    logs = await api.call("GET", f"/jenkins/logs/{job_id}")
    assert "Finished: SUCCESS" in logs.text
    link = await api.call("GET", f"/reports/{file_id}")
    page = await api.client.get(link["url"].replace("http://testserver", ""))
    assert "Jenkins says: com.acme.Leak" in page.text  # kept in our blob store


async def test_failed_build_fails_the_step_and_retry_triggers_again(
    api: Api, jenkins: JenkinsDouble
) -> None:
    await use_jenkins(api, jenkins)
    await api.call("PUT", "/dumps/settings", json={"retry_max_analysis": 0})
    jenkins.on_build = lambda build, double: "FAILURE"
    file_id = await api.upload(b"x" * 100)
    detail = await api.wait_status(file_id, "failed")
    analysis = [p for p in detail["processing"] if p["step"] == "analysis"]
    assert analysis[0]["error_type"] == "jenkins_build"
    job_id = analysis[0]["details"]["jenkins_job_id"]
    assert (await api.call("GET", f"/jenkins/status/{job_id}"))["status"] == "failure"

    jenkins.on_build = None  # the next build waits for our callback
    again = await api.call("POST", f"/jenkins/retry/{job_id}", 201)
    assert again["file_id"] == file_id
    assert again["id"] != job_id
    build = await wait_build(jenkins, 2)
    anonymous = httpx.AsyncClient(transport=api.client._transport, base_url="http://testserver")
    async with anonymous:
        answer = await anonymous.post(
            local(build.params["CALLBACK_URL"]),
            json={"status": "failure", "message": "MAT ran out of memory"},
        )
        assert answer.status_code == 200
    jenkins.finish(build.number, "SUCCESS")
    detail = await api.wait_status(file_id, "failed")
    await api.ctx.dumps.idle(10)
    detail = await api.call("GET", f"/files/{file_id}")
    assert detail["error"] == "MAT ran out of memory"
    assert (await api.call("GET", f"/jenkins/status/{again['id']}"))["status"] == "failure"


async def test_unconfigured_jenkins_is_a_clear_failure(api: Api) -> None:
    await api.call("PUT", "/dumps/settings", json={"backend": "jenkins", "retry_max_analysis": 0})
    file_id = await api.upload(b"x" * 10)
    detail = await api.wait_status(file_id, "failed")
    assert detail["error_type"] == "config"
    assert "not configured" in detail["error"]
