"""Reports: stored per file, shared through signed expiring links, accesses counted."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.db import utcnow
from opsplane.server.dumps.models import DumpReport, FileStatus
from opsplane.server.dumps.signing import REPORT, Signer
from opsplane.server.errors import NotFound

SUSPECTS_KEPT = 10
PATH_STEPS_KEPT = 12
_BODY = re.compile(rb"<body[^>]*>", re.IGNORECASE)


class ReportNotFound(NotFound):
    code = "report_not_found"


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    expires_at: datetime
    expired: bool


def slim_suspects(suspects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**s, "path_to_root": list(s.get("path_to_root", []))[:PATH_STEPS_KEPT]}
        for s in suspects[:SUSPECTS_KEPT]
    ]


async def get(session: AsyncSession, file_id: int) -> DumpReport:
    row: DumpReport | None = await session.scalar(
        select(DumpReport).where(DumpReport.file_id == file_id)
    )
    if row is None:
        raise ReportNotFound(f"file {file_id} has no report yet")
    return row


async def find(session: AsyncSession, file_id: int) -> DumpReport | None:
    row: DumpReport | None = await session.scalar(
        select(DumpReport).where(DumpReport.file_id == file_id)
    )
    return row


async def save(
    session: AsyncSession,
    *,
    file_id: int,
    backend: str,
    html_key: str | None,
    json_key: str | None,
    external_url: str | None,
    report: dict[str, Any] | None,
    summary: str,
    summary_source: str,
    ttl: float,
) -> DumpReport:
    """Create or replace the file's report; a new report gets a fresh link."""
    row = await find(session, file_id)
    if row is None:
        row = DumpReport(file_id=file_id, backend=backend)
        session.add(row)
    row.backend, row.html_key, row.json_key = backend, html_key, json_key
    row.external_url = external_url
    row.heap = dict((report or {}).get("summary") or {})
    row.suspects = slim_suspects(list((report or {}).get("leak_suspects") or []))
    row.summary, row.summary_source = summary, summary_source
    _issue(row, ttl)
    await session.flush()
    return row


def _issue(row: DumpReport, ttl: float) -> None:
    now = utcnow().replace(microsecond=0)
    row.link_version = (row.link_version or 0) + 1
    row.link_issued_at = now
    row.link_expires_at = now + timedelta(seconds=ttl)


def link(row: DumpReport, *, signer: Signer, base_url: str) -> Link:
    assert row.link_expires_at is not None
    expires = int(row.link_expires_at.timestamp())
    token = signer.token(REPORT, row.file_id, row.link_version, expires)
    url = f"{base_url.rstrip('/')}/api/v1/reports/{row.file_id}/view?token={token}"
    return Link(url, row.link_expires_at, row.link_expires_at <= utcnow())


async def refresh(session: AsyncSession, *, file_id: int, ttl: float, by: Actor) -> DumpReport:
    """A new link (the previous one stops working at once)."""
    row = await get(session, file_id)
    before = {"version": row.link_version, "expires_at": str(row.link_expires_at)}
    _issue(row, ttl)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.report.link",
        target_type="dump_file",
        target_id=file_id,
        summary=f"new report link for file {file_id}",
        before=before,
        after={"version": row.link_version, "expires_at": str(row.link_expires_at)},
    )
    return row


async def count_access(session: AsyncSession, file_id: int) -> None:
    await session.execute(
        update(DumpReport)
        .where(DumpReport.file_id == file_id)
        .values(access_count=DumpReport.access_count + 1, last_access_at=utcnow())
    )


def with_summary(page: bytes, summary: str, source: str) -> bytes:
    """The analyzer's HTML with the summary shown first (escaped; the report stays offline)."""
    if not summary:
        return page
    block = (
        '<section id="opsplane-summary" style="margin:1em;padding:1em;border:1px solid #ccc;'
        'border-radius:6px;background:#f8f9fb"><h2>Summary'
        f"{' (AI)' if source == 'ai' else ''}</h2>"
        f'<pre style="white-space:pre-wrap;font-family:inherit">{html_lib.escape(summary)}</pre>'
        "</section>"
    ).encode()
    match = _BODY.search(page)
    if match is None:
        return block + page
    return page[: match.end()] + block + page[match.end() :]


async def stats(session: AsyncSession) -> dict[str, Any]:
    now = utcnow()
    total, accesses, valid = (
        await session.execute(
            select(
                func.count(DumpReport.id),
                func.coalesce(func.sum(DumpReport.access_count), 0),
                func.count(DumpReport.id).filter(DumpReport.link_expires_at > now),
            )
        )
    ).one()
    by_backend = dict(
        (
            await session.execute(
                select(DumpReport.backend, func.count()).group_by(DumpReport.backend)
            )
        ).all()
    )
    top = (
        await session.execute(
            select(DumpReport.file_id, FileStatus.file_name, DumpReport.access_count)
            .join(FileStatus, FileStatus.id == DumpReport.file_id)
            .where(DumpReport.access_count > 0)
            .order_by(DumpReport.access_count.desc())
            .limit(10)
        )
    ).all()
    return {
        "reports": int(total),
        "accesses": int(accesses),
        "valid_links": int(valid),
        "expired_links": int(total) - int(valid),
        "by_backend": {str(k): int(v) for k, v in by_backend.items()},
        "most_accessed": [
            {"file_id": f, "file_name": n, "access_count": int(c)} for f, n, c in top
        ],
    }
