"""Dump pipeline tables: files and their steps and retries, uploads, reports, Jenkins jobs,
watch rules and the pipeline's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opsplane.server.db import Base, utcnow
from opsplane.server.dumps.states import FileState, RetryState, StepState


class FileStatus(Base):
    """One heap dump found on a node (or announced by an external watcher)."""

    __tablename__ = "file_status"
    __table_args__ = (UniqueConstraint("node_name", "file_key", name="uq_file_status_node_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_key: Mapped[str] = mapped_column(String(256))
    node_id: Mapped[str | None] = mapped_column(
        ForeignKey("nodes.id", ondelete="SET NULL"), default=None, index=True
    )
    node_name: Mapped[str] = mapped_column(String(128), index=True)
    file_name: Mapped[str] = mapped_column(String(512))
    path: Mapped[str] = mapped_column(String(2048))
    size: Mapped[int] = mapped_column(default=0)
    app: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    namespace: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    meta: Mapped[dict[str, str]] = mapped_column(default=dict)
    rule_id: Mapped[str | None] = mapped_column(String(64), default=None)
    source: Mapped[str] = mapped_column(String(16), default="agent")  # agent | external
    status: Mapped[str] = mapped_column(String(16), default=FileState.created.value, index=True)
    error: Mapped[str | None] = mapped_column(String(2048), default=None)
    error_type: Mapped[str | None] = mapped_column(String(64), default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    blob_key: Mapped[str | None] = mapped_column(String(512), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    uploaded_at: Mapped[datetime | None] = mapped_column(default=None)
    analyzed_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)


class ProcessingRecord(Base):
    """One attempt at one step of one file (a retried step has one row per attempt)."""

    __tablename__ = "processing_records"
    __table_args__ = (Index("ix_processing_records_file_step", "file_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("file_status.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=StepState.pending.value, index=True)
    retry_count: Mapped[int] = mapped_column(default=0)
    backend: Mapped[str | None] = mapped_column(String(16), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(2048), default=None)
    error_type: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetryRecord(Base):
    """A retry sequence for one step of one file: automatic (backoff) or manual."""

    __tablename__ = "retry_records"
    __table_args__ = (Index("ix_retry_records_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file_status.id", ondelete="CASCADE"), index=True
    )
    retry_type: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(1024), default="")
    status: Mapped[str] = mapped_column(String(16), default=RetryState.pending.value)
    count: Mapped[int] = mapped_column(default=0)
    max_count: Mapped[int] = mapped_column(default=0)
    manual: Mapped[bool] = mapped_column(default=False)
    requested_by: Mapped[str] = mapped_column(String(128), default="system")
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Upload(Base):
    """A resumable upload of one file: bytes so far live in `<data_dir>/uploads/<id>.part`."""

    __tablename__ = "dump_uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file_status.id", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column()
    offset: Mapped[int] = mapped_column(default=0)
    chunk_size: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | complete
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DumpReport(Base):
    """A file's analysis result: report blobs, leak suspects, summary and its shared link."""

    __tablename__ = "dump_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file_status.id", ondelete="CASCADE"), unique=True
    )
    backend: Mapped[str] = mapped_column(String(16))
    html_key: Mapped[str | None] = mapped_column(String(512), default=None)
    json_key: Mapped[str | None] = mapped_column(String(512), default=None)
    external_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    heap: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the report's `summary`
    suspects: Mapped[list[Any]] = mapped_column(default=list)
    summary: Mapped[str] = mapped_column(Text, default="")
    summary_source: Mapped[str] = mapped_column(String(16), default="deterministic")
    link_issued_at: Mapped[datetime | None] = mapped_column(default=None)
    link_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    link_version: Mapped[int] = mapped_column(default=0)
    access_count: Mapped[int] = mapped_column(default=0)
    last_access_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class JenkinsJob(Base):
    """One triggered Jenkins build for one file: queue item -> build -> result."""

    __tablename__ = "jenkins_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file_status.id", ondelete="CASCADE"), index=True
    )
    processing_id: Mapped[int | None] = mapped_column(default=None)
    job_name: Mapped[str] = mapped_column(String(256))
    queue_id: Mapped[int | None] = mapped_column(default=None)
    build_number: Mapped[int | None] = mapped_column(default=None)
    build_url: Mapped[str | None] = mapped_column(String(1024), default=None)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    result: Mapped[str | None] = mapped_column(String(32), default=None)
    console_log: Mapped[str] = mapped_column(Text, default="")
    report_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    callback: Mapped[dict[str, Any]] = mapped_column(default=dict)
    callback_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(2048), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WatchRuleRow(Base):
    """A watch rule pushed to the agents it selects (by node id/name or by labels)."""

    __tablename__ = "dump_watch_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    paths: Mapped[list[Any]] = mapped_column(default=list)
    patterns: Mapped[list[Any]] = mapped_column(default=list)
    path_template: Mapped[str | None] = mapped_column(String(1024), default=None)
    stable_seconds: Mapped[float] = mapped_column(default=10.0)
    after_upload: Mapped[str] = mapped_column(String(16), default="keep")
    node_ids: Mapped[list[Any]] = mapped_column(default=list)
    labels: Mapped[dict[str, str]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DumpSettingsRow(Base):
    """The pipeline's settings changed at run time (one row); secrets sealed with SecretBox."""

    __tablename__ = "dump_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(128), default="")
