"""Enrollment tokens: single use, expiry, revocation, and what the audit log records."""

from __future__ import annotations

import httpx

from opsplane.protocol.codec import to_builtins
from tests.protocol.test_codec import INVENTORY


async def register(client: httpx.AsyncClient, token: str, name: str) -> httpx.Response:
    return await client.post(
        "/api/v1/agents/register",
        json={"token": token, "name": name, "inventory": to_builtins(INVENTORY)},
    )


async def test_token_is_shown_once_with_a_ready_command(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await app_client.post(
        "/api/v1/agents/enrollment-tokens",
        headers=admin_headers,
        json={"name": "web tier", "max_uses": 2},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("ope_")
    assert body["agent_command"].endswith(f"--enroll {body['token']}")
    assert body["state"] == "active"
    listed = (
        await app_client.get("/api/v1/agents/enrollment-tokens", headers=admin_headers)
    ).json()
    assert [t["prefix"] for t in listed] == [body["prefix"]]
    assert "token" not in listed[0]


async def test_max_uses_expiry_and_revocation_are_enforced(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    one = (
        await app_client.post(
            "/api/v1/agents/enrollment-tokens",
            headers=admin_headers,
            json={"max_uses": 1, "labels": {"env": "prod"}},
        )
    ).json()
    first = await register(app_client, one["token"], "web-1")
    assert first.status_code == 201
    again = await register(app_client, one["token"], "web-2")
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "enrollment_token_invalid"
    assert "exhausted" in again.json()["error"]["message"]

    node = (
        await app_client.get(f"/api/v1/nodes/{first.json()['node_id']}", headers=admin_headers)
    ).json()
    assert node["labels"] == {"env": "prod"}
    assert node["inventory"]["hostname"] == "h"

    other = (
        await app_client.post("/api/v1/agents/enrollment-tokens", headers=admin_headers, json={})
    ).json()
    revoked = await app_client.delete(
        f"/api/v1/agents/enrollment-tokens/{other['id']}", headers=admin_headers
    )
    assert revoked.json()["state"] == "revoked"
    assert (await register(app_client, other["token"], "web-3")).status_code == 401
    assert (await register(app_client, "ope_made_up", "web-4")).status_code == 401


async def test_duplicate_node_name_is_a_clear_conflict(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    token = (
        await app_client.post("/api/v1/agents/enrollment-tokens", headers=admin_headers, json={})
    ).json()["token"]
    assert (await register(app_client, token, "db-1")).status_code == 201
    clash = await register(app_client, token, "db-1")
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "node_name_taken"


async def test_every_mutation_lands_in_the_audit_log(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    token = (
        await app_client.post(
            "/api/v1/agents/enrollment-tokens", headers=admin_headers, json={"name": "audited"}
        )
    ).json()
    node_id = (await register(app_client, token["token"], "app-1")).json()["node_id"]
    await app_client.patch(
        f"/api/v1/nodes/{node_id}", headers=admin_headers, json={"labels": {"tier": "app"}}
    )
    await app_client.put(
        f"/api/v1/nodes/{node_id}/config", headers=admin_headers, json={"metrics_interval": 30}
    )
    await app_client.post(f"/api/v1/nodes/{node_id}/revoke", headers=admin_headers)
    entries = (await app_client.get("/api/v1/audit", headers=admin_headers)).json()["items"]
    actions = [e["action"] for e in reversed(entries)]
    assert actions[-5:] == [
        "enrollment_token.create",
        "node.enroll",
        "node.update",
        "node.config",
        "node.revoke",
    ]
    update = next(e for e in entries if e["action"] == "node.update")
    assert update["before"] == {"labels": {}}
    assert update["after"] == {"labels": {"tier": "app"}}
    assert update["actor"] == "admin"
    assert all("token" not in (e["after"] or {}) for e in entries)


async def test_agent_credentials_open_no_user_endpoints(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    token = (
        await app_client.post("/api/v1/agents/enrollment-tokens", headers=admin_headers, json={})
    ).json()["token"]
    registered = (await register(app_client, token, "agent-1")).json()
    agent = {"Authorization": f"Bearer {registered['credential']}"}
    for method, path in [
        ("GET", "/api/v1/nodes"),
        ("GET", "/api/v1/audit"),
        ("POST", "/api/v1/agents/enrollment-tokens"),
    ]:
        response = await app_client.request(method, path, headers=agent, json={})
        assert response.status_code == 403, (method, path, response.status_code)
    await app_client.post(f"/api/v1/nodes/{registered['node_id']}/revoke", headers=admin_headers)
    assert (await app_client.get("/api/v1/nodes", headers=agent)).status_code == 401
