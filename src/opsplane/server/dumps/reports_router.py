"""Reports HTTP API: the signed link, refresh, validity, stats, and the signed view itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsplane.server.deps import ActorDep, AsOperator, AsViewer, ContextDep, SessionDep, public
from opsplane.server.dumps import reports
from opsplane.server.dumps.models import DumpReport
from opsplane.server.dumps.schemas import ReportLink, ReportStats, ReportValidity
from opsplane.server.dumps.signing import REPORT
from opsplane.server.errors import Forbidden

router = APIRouter(tags=["dumps"])
# The report page is self-contained (inline CSS, JS and SVG, no network). Its inline script
# needs 'unsafe-inline'; `sandbox` gives the page an opaque origin, so neither our script nor
# one in a report fetched from Jenkins can reach this server's cookies or API.
REPORT_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "sandbox allow-scripts; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def base_url(request: Request, configured: str | None) -> str:
    return (configured or str(request.base_url)).rstrip("/")


async def _exists(ctx: ContextDep, row: DumpReport) -> bool:
    if row.html_key:
        return await ctx.blobs.size(row.html_key) is not None
    return bool(row.external_url)


async def _link(ctx: ContextDep, request: Request, row: DumpReport) -> ReportLink:
    link = reports.link(
        row, signer=ctx.dumps.signer, base_url=base_url(request, ctx.settings.public_url)
    )
    return ReportLink(
        file_id=row.file_id,
        url=link.url,
        expires_at=link.expires_at,
        expired=link.expired,
        access_count=row.access_count,
        last_access_at=row.last_access_at,
        exists=await _exists(ctx, row),
        backend=row.backend,
        external_url=row.external_url,
        summary=row.summary,
        summary_source=row.summary_source,
        leak_suspects=list(row.suspects or []),
    )


@router.get("/reports/stats", dependencies=[AsViewer])
async def report_stats(session: SessionDep) -> ReportStats:
    """Reports, link validity and accesses."""
    return ReportStats(**await reports.stats(session))


@router.get("/reports/{file_id}", dependencies=[AsViewer])
async def get_report(
    file_id: int, request: Request, ctx: ContextDep, session: SessionDep
) -> ReportLink:
    """The report's signed link (works without a login until `expires_at`) and its use."""
    return await _link(ctx, request, await reports.get(session, file_id))


@router.post("/reports/{file_id}/refresh", dependencies=[AsOperator])
async def refresh_report(
    file_id: int, request: Request, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> ReportLink:
    """Issue a new link (the previous one stops working)."""
    row = await reports.refresh(
        session, file_id=file_id, ttl=ctx.dumps.config.report_link_ttl, by=actor
    )
    await session.commit()
    return await _link(ctx, request, row)


@router.get("/reports/{file_id}/validity", dependencies=[AsViewer])
async def report_validity(file_id: int, ctx: ContextDep, session: SessionDep) -> ReportValidity:
    """Whether the report still exists and its link still works."""
    row = await reports.find(session, file_id)
    if row is None:
        return ReportValidity(file_id=file_id, exists=False, link_valid=False, expires_at=None)
    link = reports.link(row, signer=ctx.dumps.signer, base_url="")
    return ReportValidity(
        file_id=file_id,
        exists=await _exists(ctx, row),
        link_valid=not link.expired,
        expires_at=link.expires_at,
    )


@router.get("/reports/{file_id}/view", response_class=HTMLResponse, include_in_schema=True)
@public
async def view_report(
    file_id: int, ctx: ContextDep, token: Annotated[str, Query(max_length=256)]
) -> Response:
    """The HTML report through a signed link.

    Public on purpose: report links are shared in chat and tickets with people who have no
    opsplane login. The token itself is the credential: an HMAC (server key) over the file
    id, the link version and the expiry, checked here; a refreshed link bumps the version, so
    older links stop working. Every access is counted.
    """
    checked = ctx.dumps.signer.check(REPORT, file_id, token)
    async with ctx.db.write_session() as session:
        row = await reports.find(session, file_id)
        if checked is None or row is None or checked[0] != row.link_version:
            raise Forbidden("this report link is invalid or has expired", code="link_invalid")
        await reports.count_access(session, file_id)
        html_key, external, summary = row.html_key, row.external_url, row.summary
        source = row.summary_source
    if html_key is None:
        if external:
            return RedirectResponse(external, status_code=302)
        raise reports.ReportNotFound(f"file {file_id} has no report page")
    page = await ctx.blobs.read_bytes(html_key)
    return HTMLResponse(
        reports.with_summary(page, summary, source),
        headers={
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": REPORT_CSP,
        },
    )
