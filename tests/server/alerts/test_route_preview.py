"""`/alerts/routes/preview`: where an alert goes, by the server's own routing (saved tree or a
draft), checked against where the dispatcher really delivers it."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conftest import bearer
from tests.server.alerts.conftest import Api
from tests.server.alerts.receiver import Receiver
from tests.server.alerts.test_engine import until


async def _channels(api: Api, receiver: Receiver) -> dict[str, Any]:
    made = {}
    for name, extra in {
        "ops": {},  # default: takes what no route claims
        "dba": {"is_default": False},
        "pager": {"is_default": False},
        "off": {"is_default": False, "enabled": False},
    }.items():
        made[name] = await api.webhook_channel(f"{receiver.url}/{name}", name=name, **extra)
    return made


def _tree(ch: dict[str, Any]) -> dict[str, Any]:
    return {
        "group_by": ["alertname"],
        "routes": [
            {
                "matchers": [{"name": "team", "value": "db"}],
                "receivers": [ch["dba"]["id"], ch["off"]["id"]],
                "group_by": ["alertname", "node"],
                "continue": True,
                "routes": [
                    {
                        "matchers": [{"name": "severity", "value": "critical"}],
                        "receivers": [ch["pager"]["id"]],
                        "escalate_after": "10m",
                        "escalate_to": [ch["pager"]["id"], ch["off"]["id"]],
                    }
                ],
            },
            {"matchers": [{"name": "node", "op": "=~", "value": "db-.*"}], "repeat_interval": "1h"},
        ],
    }


def _summary(preview: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(r["path"], [c["name"] for c in r["receivers"]]) for r in preview["routes"]]


async def test_preview_matches_the_dispatcher(api: Api, receiver: Receiver) -> None:
    ch = await _channels(api, receiver)
    await api.call("PUT", "/alerts/routes", json=_tree(ch))
    labels = {"alertname": "DiskFull", "team": "db", "severity": "critical", "node": "db-1"}

    preview = await api.post("/alerts/routes/preview", {"labels": labels})
    assert _summary(preview) == [("root.0.0", ["pager"]), ("root.1", ["ops"])]
    deep, fallthrough = preview["routes"]
    assert deep["group_by"] == ["alertname", "node"]  # inherited from root.0
    assert deep["group_key"] == 'root.0.0:{alertname="DiskFull",node="db-1"}'
    assert (deep["escalate_after"], [c["name"] for c in deep["escalate_to"]]) == (600, ["pager"])
    assert deep["default_receivers"] is False
    assert fallthrough["default_receivers"] is True  # root.1 names nobody: the defaults
    assert (fallthrough["group_wait"], fallthrough["repeat_interval"]) == (0, 3600)
    assert (preview["silenced_by"], preview["inhibited"]) == ([], False)

    quiet = await api.post("/alerts/routes/preview", {"labels": {"alertname": "X", "team": "db"}})
    assert _summary(quiet) == [("root.0", ["dba"])]
    assert quiet["routes"][0]["skipped"] == [
        {"id": ch["off"]["id"], "name": "off", "reason": "disabled"}
    ]

    # What the dispatcher does with the same labels: the same channels get it.
    fired = {"status": "firing", "labels": labels, "fingerprint": "p1"}
    await api.post("/alerts/alertmanager", {"version": "4", "alerts": [fired]})
    await until(lambda: len(receiver.requests) >= 2)
    await asyncio.sleep(0.3)  # nothing else arrives
    assert sorted(r.path for r in receiver.requests) == ["/ops", "/pager"]


async def test_preview_of_a_draft_and_of_muting(api: Api, receiver: Receiver) -> None:
    ch = await _channels(api, receiver)
    labels = {"alertname": "DiskFull", "team": "db"}
    saved = await api.post("/alerts/routes/preview", {"labels": labels})
    assert _summary(saved) == [("root", ["ops"])]  # nothing saved yet: the default channel

    draft = await api.post("/alerts/routes/preview", {"labels": labels, "tree": _tree(ch)})
    assert _summary(draft) == [("root.0", ["dba"])]
    assert (await api.get("/alerts/routes"))["routes"] == []  # a preview saves nothing

    bad = await api.post(
        "/alerts/routes/preview",
        {"labels": labels, "tree": {"matchers": [{"name": "a", "value": "b"}]}},
        expect=422,
    )
    assert bad["error"]["code"] == "bad_route"
    bad_regex = {"routes": [{"matchers": [{"name": "a", "op": "=~", "value": "("}]}]}
    bad = await api.post(
        "/alerts/routes/preview", {"labels": labels, "tree": bad_regex}, expect=422
    )
    assert bad["error"]["code"] == "bad_matcher"

    silence = await api.post(
        "/alerts/silences",
        {"matchers": [{"name": "team", "value": "db"}], "ends_at": "2099-01-01T00:00:00Z"},
    )
    muted = await api.post("/alerts/routes/preview", {"labels": labels})
    assert muted["silenced_by"] == [silence["id"]]


async def test_viewers_preview_the_saved_tree(api: Api, receiver: Receiver) -> None:
    ch = await _channels(api, receiver)
    await api.call("PUT", "/alerts/routes", json=_tree(ch))
    await api.post(
        "/users", {"username": "vera", "password": "viewer-password-1", "role": "viewer"}
    )
    viewer = await bearer(api.client, "vera", "viewer-password-1")
    params = [("label", "alertname=X"), ("label", "team=db"), ("label", "node=db-2")]
    got = await api.get("/alerts/routes/preview", params=params, headers=viewer)
    assert _summary(got) == [("root.0", ["dba"]), ("root.1", ["ops"])]
    assert got["labels"] == {"alertname": "X", "team": "db", "node": "db-2"}
    await api.post("/alerts/routes/preview", {"labels": {}}, headers=viewer, expect=403)
    bad = await api.get("/alerts/routes/preview", params={"label": "novalue"}, expect=422)
    assert bad["error"]["code"] == "bad_label"
