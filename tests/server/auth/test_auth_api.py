"""Logins, cookies, API tokens, rate limiting and the last-admin guard."""

from __future__ import annotations

import httpx

from tests.conftest import bearer
from tests.support.processes import ADMIN_PASSWORD


async def test_login_sets_an_httponly_strict_cookie_that_authenticates(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert (await app_client.get("/api/v1/auth/me")).json()["username"] == "admin"
    await app_client.post("/api/v1/auth/logout")
    assert (await app_client.get("/api/v1/auth/me")).status_code == 401


async def test_wrong_password_and_unknown_user_look_the_same(
    app_client: httpx.AsyncClient,
) -> None:
    a = await app_client.post("/api/v1/auth/login", json={"username": "admin", "password": "x"})
    b = await app_client.post("/api/v1/auth/login", json={"username": "ghost", "password": "x"})
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json()


async def test_repeated_failures_are_rate_limited(app_client: httpx.AsyncClient) -> None:
    codes = []
    for _ in range(12):
        response = await app_client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "guess"}
        )
        codes.append(response.status_code)
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    assert "retry in" in response.json()["error"]["message"]
    # Even the right password waits out the window.
    right = await app_client.post(
        "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    assert right.status_code == 429


async def test_api_token_acts_with_its_owner_role_until_revoked(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await app_client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "ci", "password": "ci-password", "role": "viewer"},
    )
    users = (
        await app_client.get("/api/v1/users", headers=admin_headers, params={"search": "ci"})
    ).json()["items"]
    created = await app_client.post(
        "/api/v1/auth/tokens", headers=admin_headers, json={"name": "ci", "user_id": users[0]["id"]}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("opt_")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await app_client.get("/api/v1/nodes", headers=headers)).status_code == 200
    assert (
        await app_client.post("/api/v1/agents/enrollment-tokens", headers=headers, json={})
    ).status_code == 403
    await app_client.delete(f"/api/v1/auth/tokens/{created.json()['id']}", headers=admin_headers)
    assert (await app_client.get("/api/v1/nodes", headers=headers)).status_code == 401
    listed = (await app_client.get("/api/v1/auth/tokens", headers=admin_headers)).json()
    assert listed[0]["revoked_at"] is not None
    assert listed[0]["last_used_at"] is not None


async def test_last_admin_cannot_be_removed_and_disabled_users_cannot_log_in(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    me = (await app_client.get("/api/v1/auth/me", headers=admin_headers)).json()
    demote = await app_client.patch(
        f"/api/v1/users/{me['id']}", headers=admin_headers, json={"role": "viewer"}
    )
    assert demote.status_code == 409
    assert demote.json()["error"]["code"] == "last_admin"
    assert (
        await app_client.delete(f"/api/v1/users/{me['id']}", headers=admin_headers)
    ).status_code == 409

    user = (
        await app_client.post(
            "/api/v1/users",
            headers=admin_headers,
            json={"username": "ops", "password": "ops-password", "role": "operator"},
        )
    ).json()
    ops_headers = await bearer(app_client, "ops", "ops-password")
    await app_client.patch(
        f"/api/v1/users/{user['id']}", headers=admin_headers, json={"disabled": True}
    )
    assert (await app_client.get("/api/v1/nodes", headers=ops_headers)).status_code == 401
    login = await app_client.post(
        "/api/v1/auth/login", json={"username": "ops", "password": "ops-password"}
    )
    assert login.status_code == 401


async def test_weak_passwords_and_duplicate_users_are_refused(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    weak = await app_client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "w", "password": "short", "role": "viewer"},
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["code"] == "weak_password"
    dup = await app_client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "admin", "password": "long-enough"},
    )
    assert dup.status_code == 409


async def test_users_change_their_own_password(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await app_client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "v", "password": "viewer-pass-1", "role": "viewer"},
    )
    headers = await bearer(app_client, "v", "viewer-pass-1")
    wrong = await app_client.put(
        "/api/v1/auth/me/password",
        headers=headers,
        json={"current_password": "nope", "new_password": "viewer-pass-2"},
    )
    assert wrong.status_code == 401
    ok = await app_client.put(
        "/api/v1/auth/me/password",
        headers=headers,
        json={"current_password": "viewer-pass-1", "new_password": "viewer-pass-2"},
    )
    assert ok.status_code == 204
    # The session opened with the old password ended with it; a new login works.
    assert (await app_client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    fresh = await bearer(app_client, "v", "viewer-pass-2")
    assert (await app_client.get("/api/v1/auth/me", headers=fresh)).json()["username"] == "v"


async def test_password_reset_by_an_admin_ends_the_users_sessions(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    """A stolen session must not outlive the password reset that answers the theft."""
    created = await app_client.post(
        "/api/v1/users",
        headers=admin_headers,
        json={"username": "op", "password": "operator-pass-1", "role": "operator"},
    )
    user_id = created.json()["id"]
    stolen = await bearer(app_client, "op", "operator-pass-1")
    assert (await app_client.get("/api/v1/nodes", headers=stolen)).status_code == 200
    # A role change keeps the session (it takes effect on the next request)...
    await app_client.patch(
        f"/api/v1/users/{user_id}", headers=admin_headers, json={"role": "viewer"}
    )
    me = await app_client.get("/api/v1/auth/me", headers=stolen)
    assert me.json()["role"] == "viewer"
    # ...a password reset ends it, on every route.
    reset = await app_client.patch(
        f"/api/v1/users/{user_id}", headers=admin_headers, json={"password": "operator-pass-2"}
    )
    assert reset.status_code == 200
    assert (await app_client.get("/api/v1/nodes", headers=stolen)).status_code == 401
    assert (await app_client.get("/api/v1/auth/me", headers=stolen)).status_code == 401
    await bearer(app_client, "op", "operator-pass-2")
