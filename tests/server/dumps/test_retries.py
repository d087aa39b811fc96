"""Automatic retries with backoff, their history, exhaustion alerts, manual retries."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.alerts.receiver import Receiver
from tests.server.dumps.conftest import Api


@pytest.fixture
def hook() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def test_crashed_analysis_is_retried_and_history_keeps_both(api: Api, tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    file_id = await api.upload(f"CRASH-ONCE {marker}\n".encode())
    detail = await api.wait_status(file_id, "analyzed")
    analysis = [p for p in detail["processing"] if p["step"] == "analysis"]
    assert [(p["status"], p["error_type"], p["retry_count"]) for p in analysis] == [
        ("failed", "crashed", 0),
        ("success", None, 1),
    ]
    assert "SIGABRT" in analysis[0]["error"]
    assert [(r["retry_type"], r["status"], r["count"]) for r in detail["retries"]] == [
        ("analysis", "succeeded", 1)
    ]
    assert detail["error"] is None


async def test_exhausted_retries_notify_a_webhook(api: Api, hook: Receiver) -> None:
    await api.call(
        "POST",
        "/alerts/channels",
        201,
        json={"name": "oncall", "type": "webhook", "url": hook.url + "/hook"},
    )
    await api.ctx.alerts.reload_notification_config()
    file_id = await api.upload(b"CRASH\n", app="billing")
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        detail = await api.call("GET", f"/files/{file_id}")
        exhausted = detail["retries"] and detail["retries"][0]["status"] == "exhausted"
        if exhausted and detail["status"] == "failed":  # (two reads: PG may show one first)
            break
        assert asyncio.get_running_loop().time() < deadline, detail
        await asyncio.sleep(0.05)
    analysis = [p for p in detail["processing"] if p["step"] == "analysis"]
    assert len(analysis) == 3  # the first attempt and two retries (the default maximum)
    assert detail["status"] == "failed"
    received = await asyncio.to_thread(hook.wait, 1, 10)
    alert = received[0].json()["alerts"][0]
    assert alert["labels"]["alertname"] == "HeapDumpRetriesExhausted"
    assert alert["labels"]["file_id"] == str(file_id)
    assert alert["labels"]["app"] == "billing"
    assert alert["labels"]["step"] == "analysis"


async def test_manual_retry_reruns_the_analysis_from_the_stored_file(api: Api) -> None:
    api.ctx.dumps.config = dataclasses.replace(api.ctx.dumps.config, retry_max_analysis=0)
    file_id = await api.upload(b"BAD\n")
    detail = await api.wait_status(file_id, "failed")
    assert detail["error_type"] == "bad_dump"
    assert detail["retries"][0]["status"] == "exhausted"  # max 0: no automatic retry
    started = await api.call("POST", f"/files/{file_id}/retry")
    assert started["step"] == "analysis"
    assert started["dispatched"] is True
    await api.ctx.dumps.idle(10)
    detail = await api.call("GET", f"/files/{file_id}")
    assert [p["status"] for p in detail["processing"] if p["step"] == "analysis"] == [
        "failed",
        "failed",
    ]
    manual = [r for r in detail["retries"] if r["manual"]]
    assert manual[0]["requested_by"] == "admin"
    assert manual[0]["status"] == "exhausted"
    audit = await api.call("GET", "/audit", params={"action": "dumps.file.retry"})
    assert audit["items"][0]["target_id"] == str(file_id)


async def test_a_retry_asked_while_the_failed_run_is_still_ending_runs_after_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = api.ctx.dumps
    pipeline.config = dataclasses.replace(pipeline.config, retry_max_analysis=0)
    notify = pipeline.notify

    async def slow_notify(exhausted):  # type: ignore[no-untyped-def]
        await asyncio.sleep(1.0)  # the failure is committed; the run has not ended yet
        await notify(exhausted)

    monkeypatch.setattr(pipeline, "notify", slow_notify)
    file_id = await api.upload(b"BAD\n")
    await api.wait_status(file_id, "failed")
    assert pipeline.is_analysing(file_id)
    started = await api.call("POST", f"/files/{file_id}/retry")
    assert started["dispatched"] is True
    await pipeline.idle(10)
    detail = await api.call("GET", f"/files/{file_id}")
    assert [p["status"] for p in detail["processing"] if p["step"] == "analysis"] == [
        "failed",
        "failed",
    ]


async def test_manual_upload_retry_needs_the_node_online(api: Api) -> None:
    body = {"event": "created", "node": "legacy-1", "path": "/d/a.hprof", "size": 5}
    file = await api.call("POST", "/files/notify", json=body)
    await api.call("POST", "/files/notify", json={**body, "event": "upload_failed"})
    started = await api.call("POST", f"/files/{file['id']}/retry")
    assert started["step"] == "upload"
    assert started["dispatched"] is False
    assert "no agent holds this file" in started["error"]


async def test_nothing_to_retry_and_batch(api: Api) -> None:
    file_id = await api.upload(b"LEAK a.B\n")
    await api.wait_status(file_id, "analyzed")
    body = await api.call("POST", f"/files/{file_id}/retry", 409)
    assert body["error"]["code"] == "nothing_to_retry"
    results = await api.call("POST", "/files/retry", json={"file_ids": [file_id, 999]})
    assert [(r["file_id"], r["code"]) for r in results] == [
        (file_id, "nothing_to_retry"),
        (999, "file_not_found"),
    ]


async def test_retry_history_across_files(api: Api, tmp_path: Path) -> None:
    marker = tmp_path / "once"
    crashed = await api.upload(f"CRASH-ONCE {marker}\n".encode(), key="a")
    fine = await api.upload(b"LEAK a.B\n", key="b")
    await api.wait_status(crashed, "analyzed")
    await api.wait_status(fine, "analyzed")
    page = await api.call("GET", "/dumps/retries", params={"type": "analysis"})
    assert [(r["file_id"], r["status"], r["file_status"]) for r in page["items"]] == [
        (crashed, "succeeded", "analyzed")
    ]
    none = await api.call("GET", "/dumps/retries", params={"status": "exhausted"})
    assert none["items"] == []
