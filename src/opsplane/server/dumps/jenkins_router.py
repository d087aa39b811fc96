"""Jenkins HTTP API: trigger, status, retry, console log; plus the two routes the Jenkins
job itself calls with its per-file signed token (dump download and callback)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from opsplane.server.audit import service as audit
from opsplane.server.deps import ActorDep, AsOperator, AsViewer, ContextDep, SessionDep, public
from opsplane.server.dumps import files
from opsplane.server.dumps.models import JenkinsJob
from opsplane.server.dumps.pipeline import ANALYSABLE
from opsplane.server.dumps.schemas import JenkinsCallback, JenkinsJobRead, JenkinsTrigger
from opsplane.server.dumps.signing import JENKINS_CALLBACK, JENKINS_DOWNLOAD
from opsplane.server.dumps.views import jenkins_read
from opsplane.server.errors import Conflict, Forbidden, NotFound

router = APIRouter(tags=["dumps"])
TokenQuery = Annotated[str, Query(max_length=256, description="The signed per-file token.")]


async def _job(session: SessionDep, job_id: int) -> JenkinsJob:
    row = await session.get(JenkinsJob, job_id)
    if row is None:
        raise NotFound(f"Jenkins job {job_id} not found", code="jenkins_job_not_found")
    return row


async def _trigger(
    ctx: ContextDep, session: SessionDep, file_id: int, actor: ActorDep
) -> JenkinsJob:
    file = await files.get_file(session, file_id)
    if file.status not in ANALYSABLE or not file.blob_key:
        raise Conflict(
            f"file {file_id} is {file.status}: only an uploaded file can be analysed",
            code="not_analysable",
        )
    if ctx.dumps.is_analysing(file_id):
        raise Conflict(f"file {file_id} is being analysed already", code="analysis_running")
    row = JenkinsJob(file_id=file_id, job_name=ctx.dumps.config.jenkins_job, status="pending")
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        by=actor,
        action="dumps.jenkins.trigger",
        target_type="dump_file",
        target_id=file_id,
        summary=f"Jenkins analysis of {file.file_name}",
        after={"job_id": row.id},
    )
    await session.commit()
    ctx.dumps.analyze_soon(file_id, backend="jenkins", job_id=row.id)
    return row


@router.post("/jenkins/trigger", status_code=201, dependencies=[AsOperator])
async def trigger(
    body: JenkinsTrigger, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> JenkinsJobRead:
    """Analyse an uploaded file with the Jenkins job now."""
    return jenkins_read(await _trigger(ctx, session, body.file_id, actor))


@router.get("/jenkins/status/{job_id}", dependencies=[AsViewer])
async def job_status(job_id: int, session: SessionDep) -> JenkinsJobRead:
    """Queue item, build, result and report URL of one triggered job."""
    return jenkins_read(await _job(session, job_id))


@router.post("/jenkins/retry/{job_id}", status_code=201, dependencies=[AsOperator])
async def retry_job(
    job_id: int, ctx: ContextDep, actor: ActorDep, session: SessionDep
) -> JenkinsJobRead:
    """Trigger the job again for the same file (a new job record)."""
    old = await _job(session, job_id)
    return jenkins_read(await _trigger(ctx, session, old.file_id, actor))


@router.get("/jenkins/logs/{job_id}", dependencies=[AsViewer], response_class=PlainTextResponse)
async def job_logs(job_id: int, session: SessionDep) -> PlainTextResponse:
    """The build's console text (kept when the build ends)."""
    return PlainTextResponse((await _job(session, job_id)).console_log)


@router.get("/jenkins/download/{file_id}", response_class=StreamingResponse)
@public
async def download_for_job(file_id: int, token: TokenQuery, ctx: ContextDep) -> StreamingResponse:
    """The dump, for the Jenkins job (DOWNLOAD_URL).

    Public on purpose: the job has no opsplane login; the signed per-file token in its URL
    (HMAC over purpose, file id and expiry) is its credential for this one file.
    """
    if ctx.dumps.signer.check(JENKINS_DOWNLOAD, file_id, token) is None:
        raise Forbidden("invalid or expired download token", code="token_invalid")
    async with ctx.db.session() as session:
        row = await files.get_file(session, file_id)
    if not row.blob_key:
        raise NotFound(f"file {file_id} has not been uploaded", code="not_uploaded")
    return StreamingResponse(
        ctx.blobs.read_range(row.blob_key),
        media_type="application/octet-stream",
        headers={"Content-Length": str(row.size)},
    )


@router.post("/jenkins/callback/{file_id}")
@public
async def callback(
    file_id: int, body: JenkinsCallback, token: TokenQuery, ctx: ContextDep
) -> dict[str, str]:
    """The Jenkins job reports its result and report URL (CALLBACK_URL).

    Public on purpose, like the download: the signed per-file token in the URL is the job's
    credential, valid for this file until the analysis times out.
    """
    if ctx.dumps.signer.check(JENKINS_CALLBACK, file_id, token) is None:
        raise Forbidden("invalid or expired callback token", code="token_invalid")
    row = await ctx.dumps.jenkins.accept_callback(file_id, body.model_dump(exclude_none=True))
    if row is None:
        raise NotFound(f"no Jenkins job for file {file_id}", code="jenkins_job_not_found")
    return {"status": "accepted"}
