"""`PATCH /alerts/channels/{id}`: what it leaves out stays, an explicit null clears."""

from __future__ import annotations

from tests.server.alerts.conftest import Api


async def test_null_clears_a_secret_or_a_setting_and_the_rest_stays(api: Api) -> None:
    channel = await api.webhook_channel(
        "http://127.0.0.1:9/hook", headers={"Authorization": "Bearer t"}, hmac_secret="s3cret"
    )
    path = f"/alerts/channels/{channel['id']}"
    assert channel["secrets_set"] == ["headers", "hmac_secret"]

    cleared = await api.call("PATCH", path, json={"headers": None})
    assert cleared["secrets_set"] == ["hmac_secret"]
    assert api.ctx.alerts.channels[channel["id"]].secrets == {"hmac_secret": "s3cret"}
    cleared = await api.call("PATCH", path, json={"config": {"hmac_secret": None}})
    assert cleared["secrets_set"] == []
    assert cleared["config"]["url"] == "http://127.0.0.1:9/hook"

    audit = await api.get("/audit", params={"action": "alert_channel.update"})
    secrets = [(e["before"]["secrets"], e["after"]["secrets"]) for e in audit["items"]]
    assert secrets == [(["hmac_secret"], []), (["headers", "hmac_secret"], ["hmac_secret"])]

    required = await api.call("PATCH", path, json={"url": None}, expect=422)
    assert required["error"]["code"] == "bad_channel_config"
    assert "url is required" in required["error"]["message"]
    unknown = await api.call("PATCH", path, json={"config": {"colour": None}}, expect=422)
    assert "no setting 'colour'" in unknown["error"]["message"]


async def test_null_puts_a_plain_setting_back_to_its_default(api: Api) -> None:
    channel = await api.post(
        "/alerts/channels",
        {
            "name": "mail",
            "type": "email",
            "host": "127.0.0.1",
            "port": 2525,
            "username": "u",
            "password": "p",
            "from_addr": "ops@example.com",
            "to": ["a@example.com"],
            "subject_prefix": "[ops]",
        },
    )
    path = f"/alerts/channels/{channel['id']}"
    got = await api.call("PATCH", path, json={"username": None, "port": None, "name": "mail2"})
    assert "username" not in got["config"]
    assert (got["config"]["port"], got["config"]["subject_prefix"], got["name"]) == (
        25,
        "[ops]",
        "mail2",
    )
    assert got["secrets_set"] == ["password"]
