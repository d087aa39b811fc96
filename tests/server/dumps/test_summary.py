"""The ai_analysis step: an OpenAI-compatible endpoint (a double speaking chat completions),
retried when it fails, with the deterministic summary standing in meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsplane.server.dumps.summary import deterministic
from tests.server.dumps.conftest import Api
from tests.support.openai_double import OpenAIDouble


@pytest.fixture
def ai() -> Iterator[OpenAIDouble]:
    double = OpenAIDouble(reply="SessionCache keeps every session. 1. Evict.", key="sk-test")
    double.start()
    yield double
    double.stop()


async def configure(api: Api, ai: OpenAIDouble) -> None:
    settings = await api.call(
        "PUT",
        "/dumps/settings",
        json={"ai_url": ai.url, "ai_model": "test-model", "ai_key": "sk-test"},
    )
    assert settings["ai_key_set"] is True


async def test_ai_summary_from_the_leak_suspects(api: Api, ai: OpenAIDouble) -> None:
    await configure(api, ai)
    file_id = await api.upload(b"LEAK com.acme.SessionCache\n")
    detail = await api.wait_status(file_id, "analyzed")
    assert detail["report"]["summary"] == "SessionCache keeps every session. 1. Evict."
    assert detail["report"]["summary_source"] == "ai"
    request = ai.requests[0]
    assert request["model"] == "test-model"
    assert request["messages"][0]["role"] == "system"
    assert "com.acme.SessionCache" in request["messages"][1]["content"]
    assert ai.headers[0]["authorization"] == "Bearer sk-test"
    step = next(p for p in detail["processing"] if p["step"] == "ai_analysis")
    assert step["details"] == {"model": "test-model", "source": "ai"}


async def test_failing_endpoint_is_retried_and_the_summary_replaced(
    api: Api, ai: OpenAIDouble
) -> None:
    ai.statuses = [503]
    await configure(api, ai)
    file_id = await api.upload(b"LEAK com.acme.SessionCache\n")
    detail = await api.wait_status(file_id, "analyzed")
    deadline = time.monotonic() + 60  # a retry after backoff; generous for a loaded CI box
    while detail["report"]["summary_source"] != "ai":
        assert time.monotonic() < deadline, detail
        await asyncio.sleep(0.05)
        detail = await api.call("GET", f"/files/{file_id}")
    steps = [
        (p["status"], p["error_type"]) for p in detail["processing"] if p["step"] == "ai_analysis"
    ]
    assert steps == [("failed", "ai_endpoint"), ("success", None)]
    assert [(r["retry_type"], r["status"]) for r in detail["retries"]] == [
        ("ai_analysis", "succeeded")
    ]


async def test_retry_due_before_the_report_is_stored_waits_for_it(
    api: Api, ai: OpenAIDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The AI retry comes due while the analysis is still storing its report (slow blob
    store, busy database): it must wait for the report, not be dropped."""
    pipeline = api.ctx.dumps
    store = pipeline._store_report

    async def slow_store(*args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(1.0)  # many retry-loop rounds (0.05 s) pass meanwhile
        await store(*args, **kwargs)

    monkeypatch.setattr(pipeline, "_store_report", slow_store)
    ai.statuses = [503]
    await configure(api, ai)
    file_id = await api.upload(b"LEAK com.acme.SessionCache\n")
    detail = await api.wait_status(file_id, "analyzed")
    deadline = time.monotonic() + 60
    while detail["report"]["summary_source"] != "ai":
        assert time.monotonic() < deadline, detail["retries"]
        await asyncio.sleep(0.05)
        detail = await api.call("GET", f"/files/{file_id}")
    assert [(r["retry_type"], r["status"], r["count"]) for r in detail["retries"]] == [
        ("ai_analysis", "succeeded", 1)
    ]


async def test_wrong_key_falls_back_to_the_deterministic_summary(
    api: Api, ai: OpenAIDouble
) -> None:
    await api.call(
        "PUT",
        "/dumps/settings",
        json={"ai_url": ai.url, "ai_key": "wrong", "retry_max_ai_analysis": 0},
    )
    file_id = await api.upload(b"LEAK com.acme.SessionCache\n")
    detail = await api.wait_status(file_id, "analyzed")
    assert detail["report"]["summary_source"] == "deterministic"
    assert "com.acme.SessionCache" in detail["report"]["summary"]
    step = next(p for p in detail["processing"] if p["step"] == "ai_analysis")
    assert step["error"] == "AI endpoint answered 401"


def test_deterministic_summary_names_classes_and_next_steps() -> None:
    text = deterministic(
        {"heap_bytes": 32 << 20, "objects": 5000},
        [
            {
                "kind": "object",
                "class": "OomLeak$SessionCache",
                "instances": 1,
                "retained_bytes": 30 << 20,
                "heap_fraction": 0.94,
                "accumulation_point": {"class": "java.lang.Object[]"},
                "path_to_root": [{"label": "java.lang.Object[]", "referenced_by": "elementData"}],
            }
        ],
    )
    assert "one instance of OomLeak$SessionCache retains 30.0 MiB (94% of the live heap)" in text
    assert "java.lang.Object[]" in text
    assert "Next steps:" in text
    assert "No single object" in deterministic({"heap_bytes": 100}, [])
