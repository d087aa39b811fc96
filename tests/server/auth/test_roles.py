"""Every route of the OpenAPI schema, called as nobody, viewer, operator and admin.

The role each route needs is read from its `require_role(...)` dependency; a route without
one (and not marked public) fails the test: deny by default is enforced here.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from opsplane.server.auth.roles import Role
from opsplane.server.deps import is_public
from tests.conftest import bearer

PASSWORD = "role-test-password"
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
READ_ONLY_POSTS = {
    # Prometheus's query API takes its reads as POSTed forms too (Grafana and promtool send
    # them so): these, and only these, POSTs are open to viewers.
    "/prometheus/api/v1/query",
    "/prometheus/api/v1/query_range",
    "/prometheus/api/v1/labels",
    "/prometheus/api/v1/series",
    "/prometheus/api/v1/format_query",
    "/prometheus/api/v1/query_exemplars",
}


def required_role(route: Any) -> Role | None:
    roles = []
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        role = getattr(dep.call, "required_role", None)
        if role is not None:
            roles.append(role)
        stack.extend(dep.dependencies)
    return max(roles, key=lambda r: r.rank) if roles else None


def api_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, route) for every operation in the app's OpenAPI schema."""
    by_key = {}
    for route in iter_route_contexts(app.routes):
        if getattr(route, "dependant", None) is None:
            continue
        for method in route.methods or ():
            by_key[(method, route.path)] = route
    operations = [
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    ]
    missing = [op for op in operations if op not in by_key]
    assert not missing, f"operations without a route: {missing}"
    return [(method, path, by_key[(method, path)]) for method, path in operations]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def call(
    client: httpx.AsyncClient, method: str, path: str, headers: dict[str, str] | None
) -> httpx.Response:
    body = {} if method in MUTATING else None
    return await client.request(method, concrete(path), headers=headers, json=body)


@pytest.fixture
async def role_headers(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> dict[str, dict[str, str] | None]:
    headers: dict[str, dict[str, str] | None] = {"nobody": None, "admin": admin_headers}
    for role in (Role.viewer, Role.operator):
        response = await app_client.post(
            "/api/v1/users",
            headers=admin_headers,
            json={"username": f"{role.value}1", "password": PASSWORD, "role": role.value},
        )
        assert response.status_code == 201, response.text
        headers[role.value] = await bearer(app_client, f"{role.value}1", PASSWORD)
    return headers


async def test_every_route_declares_a_role_or_is_public(app_client: httpx.AsyncClient) -> None:
    undeclared = [
        f"{method} {path}"
        for method, path, route in api_routes(app_client.app)  # type: ignore[attr-defined]
        if not is_public(route.endpoint) and required_role(route) is None
    ]
    assert undeclared == []


async def test_each_role_gets_exactly_what_its_route_allows(
    app_client: httpx.AsyncClient, role_headers: dict[str, dict[str, str] | None]
) -> None:
    checked = 0
    for method, path, route in api_routes(app_client.app):  # type: ignore[attr-defined]
        if is_public(route.endpoint):
            continue
        needed = required_role(route)
        assert needed is not None
        response = await call(app_client, method, path, None)
        assert response.status_code == 401, f"{method} {path} as nobody: {response.status_code}"
        assert response.json()["error"]["code"] == "unauthenticated"
        for role in Role:
            response = await call(app_client, method, path, role_headers[role.value])
            if role.allows(needed):
                assert response.status_code not in (401, 403), (
                    f"{method} {path} as {role}: {response.status_code} {response.text}"
                )
            else:
                assert response.status_code == 403, (
                    f"{method} {path} as {role}: {response.status_code}"
                )
                assert response.json()["error"]["code"] == "forbidden"
        checked += 1
    assert checked >= 20


async def test_viewer_post_is_refused_everywhere(
    app_client: httpx.AsyncClient, role_headers: dict[str, dict[str, str] | None]
) -> None:
    """Except the read-only POSTs of the Prometheus query API (`READ_ONLY_POSTS`)."""
    posts = [
        (m, p, r)
        for m, p, r in api_routes(app_client.app)  # type: ignore[attr-defined]
        if m == "POST" and not is_public(r.endpoint)
    ]
    assert posts
    assert {p for _, p, _ in posts} >= READ_ONLY_POSTS, "stale READ_ONLY_POSTS entry"
    for method, path, _ in posts:
        response = await call(app_client, method, path, role_headers["viewer"])
        if path in READ_ONLY_POSTS:
            assert response.status_code not in (401, 403), f"viewer POST {path}: {response.text}"
        else:
            assert response.status_code == 403, f"viewer POST {path}: {response.status_code}"


async def test_unauthenticated_nodes_list_is_401(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/api/v1/nodes")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
