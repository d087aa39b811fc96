"""Watch rules: CRUD, audit, and which nodes' effective AgentConfig carries them."""

from __future__ import annotations

from opsplane.server.fleet.models import Node
from opsplane.server.fleet.service import effective_config
from tests.server.dumps.conftest import Api
from tests.server.dumps.test_notices import register


async def rules_of(api: Api, node_id: str) -> list[str]:
    async with api.ctx.db.session() as session:
        node = await session.get(Node, node_id)
        assert node is not None
        config = effective_config(node, api.ctx.settings, api.ctx.agent_config)
    return [r.name for r in config.watch_rules]


async def test_rules_select_nodes_by_id_name_or_labels(api: Api) -> None:
    web, _ = await register(api, "web-1")
    db, _ = await register(api, "db-1")
    await api.call("PATCH", f"/nodes/{db}", json={"labels": {"role": "db"}})
    everyone = await api.call(
        "POST",
        "/dumps/watch-rules",
        201,
        json={
            "name": "all",
            "paths": ["/var/dumps"],
            "path_template": "/var/dumps/{namespace}/{app}/*.hprof",
            "stable_seconds": 5,
        },
    )
    assert everyone["patterns"] == ["*.hprof", "*.hprof.gz"]
    assert everyone["after_upload"] == "keep"
    await api.call(
        "POST",
        "/dumps/watch-rules",
        201,
        json={"name": "by-name", "paths": ["/a"], "node_ids": ["web-1"]},
    )
    await api.call(
        "POST",
        "/dumps/watch-rules",
        201,
        json={"name": "dbs", "paths": ["/b"], "labels": {"role": "db"}, "after_upload": "compress"},
    )
    duplicate = await api.call(
        "POST", "/dumps/watch-rules", 409, json={"name": "dbs", "paths": ["/c"]}
    )
    assert duplicate["error"]["code"] == "watch_rule_exists"
    assert await rules_of(api, web) == ["all", "by-name"]
    assert await rules_of(api, db) == ["all", "dbs"]

    await api.call("PATCH", f"/dumps/watch-rules/{everyone['id']}", json={"enabled": False})
    assert await rules_of(api, web) == ["by-name"]
    await api.call(
        "PATCH", f"/dumps/watch-rules/{everyone['id']}", json={"enabled": True, "node_ids": [db]}
    )
    assert await rules_of(api, web) == ["by-name"]
    assert await rules_of(api, db) == ["all", "dbs"]
    rule = (await api.call("GET", "/dumps/watch-rules"))[0]
    assert rule["path_template"] == "/var/dumps/{namespace}/{app}/*.hprof"
    await api.call("DELETE", f"/dumps/watch-rules/{everyone['id']}", 204)
    assert await rules_of(api, db) == ["dbs"]
    await api.call("GET", f"/dumps/watch-rules/{everyone['id']}", 404)
    audit = await api.call("GET", "/audit", params={"action": "dumps.watch_rule"})
    assert [e["action"] for e in audit["items"]][:2] == [
        "dumps.watch_rule.delete",
        "dumps.watch_rule.update",
    ]


async def test_upload_limits_travel_with_the_rules(api: Api) -> None:
    node, _ = await register(api, "web-9")
    await api.call(
        "PUT", "/dumps/settings", json={"upload_bytes_per_second": 1 << 20, "upload_concurrency": 2}
    )
    async with api.ctx.db.session() as session:
        row = await session.get(Node, node)
        assert row is not None
        config = effective_config(row, api.ctx.settings, api.ctx.agent_config)
    assert (config.upload_bytes_per_second, config.upload_concurrency) == (1 << 20, 2)
    back = await api.call("PUT", "/dumps/settings", json={"upload_bytes_per_second": None})
    assert back["upload_bytes_per_second"] is None
