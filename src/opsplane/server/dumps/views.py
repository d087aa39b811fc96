"""ORM rows -> API models."""

from __future__ import annotations

from opsplane.server.dumps.models import (
    DumpReport,
    FileStatus,
    JenkinsJob,
    ProcessingRecord,
    RetryRecord,
    Upload,
    WatchRuleRow,
)
from opsplane.server.dumps.schemas import (
    FileDetail,
    FileRead,
    JenkinsJobRead,
    ProcessingRead,
    ReportBrief,
    RetryRead,
    UploadProgress,
    WatchRuleRead,
)
from opsplane.server.dumps.states import FileState


def file_read(row: FileStatus) -> FileRead:
    return FileRead(
        id=row.id,
        file_name=row.file_name,
        path=row.path,
        node=row.node_name,
        node_id=row.node_id,
        app=row.app,
        namespace=row.namespace,
        status=FileState(row.status),
        size=row.size,
        source=row.source,
        error=row.error,
        error_type=row.error_type,
        sha256=row.sha256,
        metadata=dict(row.meta or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
        uploaded_at=row.uploaded_at,
        analyzed_at=row.analyzed_at,
        failed_at=row.failed_at,
    )


def processing_read(row: ProcessingRecord) -> ProcessingRead:
    duration = None
    if row.started_at is not None and row.completed_at is not None:
        duration = (row.completed_at - row.started_at).total_seconds()
    return ProcessingRead(
        id=row.id,
        step=row.step,
        status=row.status,
        retry_count=row.retry_count,
        backend=row.backend,
        started_at=row.started_at,
        completed_at=row.completed_at,
        duration_seconds=duration,
        error=row.error,
        error_type=row.error_type,
        details=dict(row.details or {}),
    )


def retry_read(row: RetryRecord) -> RetryRead:
    return RetryRead.model_validate(row, from_attributes=True)


def report_brief(row: DumpReport) -> ReportBrief:
    return ReportBrief(
        backend=row.backend,
        summary=row.summary,
        summary_source=row.summary_source,
        leak_suspects=list(row.suspects or []),
        heap=dict(row.heap or {}),
        access_count=row.access_count,
        link_expires_at=row.link_expires_at,
    )


def file_detail(
    row: FileStatus,
    steps: list[ProcessingRecord],
    tries: list[RetryRecord],
    report: DumpReport | None,
    upload: Upload | None,
) -> FileDetail:
    return FileDetail(
        **file_read(row).model_dump(),
        processing=[processing_read(s) for s in steps],
        retries=[retry_read(r) for r in tries],
        report=report_brief(report) if report is not None else None,
        upload=UploadProgress.model_validate(
            {**upload.__dict__, "upload_id": upload.id}, from_attributes=False
        )
        if upload is not None
        else None,
    )


def jenkins_read(row: JenkinsJob) -> JenkinsJobRead:
    return JenkinsJobRead.model_validate(row, from_attributes=True)


def rule_read(row: WatchRuleRow) -> WatchRuleRead:
    return WatchRuleRead.model_validate(row, from_attributes=True)
