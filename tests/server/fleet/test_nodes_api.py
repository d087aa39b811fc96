"""Node listing: filters, search, sorting and cursor pagination as the UI uses them."""

from __future__ import annotations

import httpx

from opsplane.protocol.codec import to_builtins
from tests.protocol.test_codec import INVENTORY


async def enroll(
    client: httpx.AsyncClient, headers: dict[str, str], names: list[str], labels: dict[str, str]
) -> list[str]:
    token = (
        await client.post(
            "/api/v1/agents/enrollment-tokens", headers=headers, json={"labels": labels}
        )
    ).json()["token"]
    ids = []
    for name in names:
        inventory = {**to_builtins(INVENTORY), "hostname": f"{name}.example.com"}
        response = await client.post(
            "/api/v1/agents/register", json={"token": token, "name": name, "inventory": inventory}
        )
        ids.append(response.json()["node_id"])
    return ids


async def test_filters_search_sort_and_pages(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await enroll(app_client, admin_headers, [f"web-{i:02d}" for i in range(7)], {"env": "prod"})
    await enroll(app_client, admin_headers, ["db-01", "db-02"], {"env": "staging"})

    async def get(**params: object) -> dict:
        response = await app_client.get("/api/v1/nodes", headers=admin_headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    prod = await get(label="env=prod")
    assert len(prod["items"]) == 7
    assert {n["status"] for n in prod["items"]} == {"offline"}
    assert [n["name"] for n in (await get(search="DB-0"))["items"]] == ["db-01", "db-02"]
    assert [n["name"] for n in (await get(search="web-03.example"))["items"]] == ["web-03"]
    assert (await get(status="online"))["items"] == []

    names, cursor = [], None
    while True:
        page = await get(limit=3, sort="-name", **({"cursor": cursor} if cursor else {}))
        names += [n["name"] for n in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert names == sorted(names, reverse=True)
    assert len(names) == 9


async def test_bad_list_parameters_get_clear_errors(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    for params, code in [
        ({"sort": "password"}, "invalid"),
        ({"label": "novalue"}, "bad_label"),
        ({"cursor": "!!!"}, "bad_cursor"),
        ({"limit": 0}, "invalid"),
        ({"status": "sleepy"}, "invalid"),
    ]:
        response = await app_client.get("/api/v1/nodes", headers=admin_headers, params=params)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == code, response.json()


async def test_unknown_node_is_404(
    app_client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await app_client.get("/api/v1/nodes/nope", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "node_not_found"
