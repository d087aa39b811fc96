"""Which threshold rules each agent is sent to check between its ticks (its config's watches)."""

from __future__ import annotations

from opsplane.protocol.thresholds import Matcher, ThresholdWatch
from opsplane.server.fleet.models import Node
from opsplane.server.fleet.service import effective_config
from tests.server.alerts.conftest import Api


def config_of(api: Api, node: Node):  # type: ignore[no-untyped-def]
    return effective_config(node, api.ctx.settings, api.ctx.agent_config)


async def test_threshold_rules_become_watches_on_the_nodes_they_select(api: Api) -> None:
    web = Node(id="n-web", name="web-1", labels={"role": "web"})
    db = Node(id="n-db", name="db-1", labels={})
    assert config_of(api, web).threshold_watches == ()
    assert config_of(api, web).threshold_check_interval == 0.25  # the server default

    everywhere = await api.post(
        "/alerts/rules/threshold",
        {
            "name": "Load",
            "metric": "host_load1",
            "operator": ">",
            "threshold": 4,
            "labels": {"role": "web"},
        },
    )
    only_db = await api.post(
        "/alerts/rules/threshold",
        {
            "name": "DbDisk",
            "metric": "host_filesystem_utilization_ratio",
            "operator": ">=",
            "threshold": 0.9,
            "clear_threshold": 0.8,
            "nodes": ["db-1"],
        },
    )
    # Rules the fast path cannot judge per sample are not watches.
    await api.post("/alerts/rules", {"name": "Rate", "expr": "rate(x_total[1m]) > 1"})
    await api.post("/alerts/rules", {"name": "Off", "expr": "y > 1", "enabled": False})

    load = ThresholdWatch(
        str(everywhere["id"]), "host_load1", ">", (4.0,), (Matcher("role", "=", "web"),)
    )
    disk = ThresholdWatch(
        str(only_db["id"]), "host_filesystem_utilization_ratio", ">=", (0.8, 0.9)
    )  # both sides of the hysteresis band; `node` resolved here, not sent
    assert config_of(api, web).threshold_watches == (load,)
    assert config_of(api, db).threshold_watches == (load, disk)  # the agent judges `role`

    await api.call("DELETE", f"/alerts/rules/{everywhere['id']}")
    assert config_of(api, web).threshold_watches == ()
    assert config_of(api, db).threshold_watches == (disk,)


async def test_a_node_can_turn_checks_off(api: Api) -> None:
    node = Node(id="n1", name="n1", labels={}, config={"threshold_check_interval": 0})
    assert config_of(api, node).threshold_check_interval == 0
    node.config = {"threshold_check_interval": 1.5}
    assert config_of(api, node).threshold_check_interval == 1.5
