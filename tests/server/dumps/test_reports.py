"""Signed report links: no login needed until expiry, counted, refreshed, checked."""

from __future__ import annotations

import dataclasses
import time

import httpx

from opsplane.server.dumps.signing import REPORT
from tests.server.dumps.conftest import Api


def path_of(url: str) -> str:
    return url.replace("http://testserver", "")


async def test_signed_link_serves_the_report_without_login(api: Api) -> None:
    file_id = await api.upload(b"LEAK com.acme.SessionCache\n")
    await api.wait_status(file_id, "analyzed")
    link = await api.call("GET", f"/reports/{file_id}")
    assert link["exists"] is True
    assert link["expired"] is False
    assert link["access_count"] == 0
    assert link["url"].startswith(f"http://testserver/api/v1/reports/{file_id}/view?token=")
    anonymous = httpx.AsyncClient(transport=api.client._transport, base_url="http://testserver")
    async with anonymous:
        for _ in range(2):
            page = await anonymous.get(path_of(link["url"]))
            assert page.status_code == 200
            assert "com.acme.SessionCache" in page.text
            assert 'id="opsplane-summary"' in page.text  # the summary comes first
            csp = page.headers["content-security-policy"]
            assert "sandbox allow-scripts" in csp  # inline script runs, in an opaque origin
            assert "connect-src" not in csp  # default-src 'none': no network from the page
        forged = path_of(link["url"])[:-4] + "0000"
        assert (await anonymous.get(forged)).status_code == 403
        assert (await api.call("GET", f"/reports/{file_id}"))["access_count"] == 2

        fresh = await api.call("POST", f"/reports/{file_id}/refresh")
        assert fresh["url"] != link["url"]
        assert (await anonymous.get(path_of(link["url"]))).status_code == 403  # old link dead
        assert (await anonymous.get(path_of(fresh["url"]))).status_code == 200
        # an expired (but correctly signed) link is refused
        signer = api.ctx.dumps.signer
        old = int(time.time()) - 10
        token = signer.token(REPORT, file_id, 2, old)
        expired = await anonymous.get(f"/api/v1/reports/{file_id}/view?token={token}")
        assert expired.status_code == 403
        assert expired.json()["error"]["code"] == "link_invalid"

    validity = await api.call("GET", f"/reports/{file_id}/validity")
    assert validity["exists"] is True
    assert validity["link_valid"] is True
    stats = await api.call("GET", "/reports/stats")
    assert stats["reports"] == 1
    assert stats["accesses"] == 3
    assert stats["valid_links"] == 1
    assert stats["most_accessed"][0]["file_id"] == file_id


async def test_report_link_ttl_and_missing_report(api: Api) -> None:
    api.ctx.dumps.config = dataclasses.replace(api.ctx.dumps.config, report_link_ttl=120)
    file_id = await api.upload(b"LEAK a.B\n")
    await api.wait_status(file_id, "analyzed")
    link = await api.call("GET", f"/reports/{file_id}")
    expires = link["expires_at"]
    assert 100 < (_ts(expires) - time.time()) <= 121
    body = await api.call("GET", "/reports/999", 404)
    assert body["error"]["code"] == "report_not_found"
    assert (await api.call("GET", "/reports/999/validity"))["exists"] is False


def _ts(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
