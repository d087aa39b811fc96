"""promtool (2.42) queries a real `opsplane server` at `<server>/prometheus`, as a viewer.

promtool POSTs its queries as forms (and falls back to GET on 405). Its `query instant` has
no auth flag: the token rides in the URL (`http://viewer:TOKEN@host/prometheus`, sent as
Basic auth); `query range` also takes `--header`, used here with a bearer token.
"""

from __future__ import annotations

import subprocess
import time
from urllib.parse import quote

import httpx
import pytest

from opsplane.server.metrics.remote_write import HEADERS, TimeSeries, WriteRequest, encode
from tests.support.env import require_binary
from tests.support.processes import ServerProcess

pytestmark = [pytest.mark.integration]


def _viewer_token(client: httpx.Client) -> str:
    user = client.post("/api/v1/users", json={"username": "grafana", "password": "viewer-pass-1",
                                               "role": "viewer"})  # fmt: skip
    assert user.status_code == 201, user.text
    token = client.post(
        "/api/v1/auth/tokens", json={"name": "promtool", "user_id": user.json()["id"]}
    )
    assert token.status_code == 201, token.text
    secret: str = token.json()["token"]
    return secret


def _push(client: httpx.Client, now_ms: int) -> None:
    samples = [(now_ms - 60_000 + i * 15_000, float(i)) for i in range(5)]
    request = WriteRequest([
        TimeSeries.of({"__name__": "promtool_probe", "job": "demo", "instance": inst}, samples)
        for inst in ("a", "b")
    ])  # fmt: skip
    response = client.post("/prometheus/api/v1/write", content=encode(request), headers=HEADERS)
    assert response.status_code == 204, response.text


def _promtool(*args: str) -> str:
    binary = require_binary("promtool")
    done = subprocess.run([binary, "query", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"promtool {args}: {done.stdout} {done.stderr}"
    return done.stdout


def test_promtool_instant_and_range_queries(server_process: ServerProcess) -> None:
    require_binary("promtool")
    now_ms = int(time.time() * 1000)
    with server_process.client() as admin:
        _push(admin, now_ms)
        token = _viewer_token(admin)
    host = server_process.url.split("://", 1)[1]
    with_token = f"http://viewer:{quote(token, safe='')}@{host}/prometheus"

    instant = _promtool("instant", "--time", str(now_ms / 1000), with_token,
                        "sum by (job) (promtool_probe)")  # fmt: skip
    assert instant.startswith('{job="demo"} => 8 @['), instant

    plain_url = f"{server_process.url}/prometheus"
    ranged = _promtool("range", f"--header=Authorization=Bearer {token}",
                       f"--start={(now_ms - 60_000) / 1000}", f"--end={now_ms / 1000}",
                       "--step=15s", plain_url, 'promtool_probe{instance="a"}')  # fmt: skip
    lines = ranged.splitlines()
    assert lines[0] == 'promtool_probe{instance="a", job="demo"} =>', ranged
    assert [line.split(" @")[0] for line in lines[1:]] == ["0", "1", "2", "3", "4"], ranged

    series = _promtool("series", "--match=promtool_probe", with_token)
    assert series.splitlines() == [
        '{__name__="promtool_probe", instance="a", job="demo"}',
        '{__name__="promtool_probe", instance="b", job="demo"}',
    ], series
    labels = _promtool("labels", with_token, "instance")
    assert labels.split() == ["a", "b"], labels
