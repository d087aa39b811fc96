"""API models of the dump pipeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from opsplane.server.dumps.states import FileState

Name = Field(min_length=1, max_length=128)


class UploadCreate(BaseModel):
    """Start or resume the upload of a file (agents: node from their credential)."""

    file_key: str = Field(min_length=1, max_length=256)
    path: str = Field(min_length=1, max_length=2048)
    file_name: str | None = Field(default=None, max_length=512)
    size: int = Field(ge=1)
    node: str | None = Field(default=None, max_length=128, description="External watchers only.")
    app: str | None = Field(default=None, max_length=128)
    namespace: str | None = Field(default=None, max_length=128)


class UploadRead(BaseModel):
    upload_id: str
    file_id: int
    offset: int
    size: int
    chunk_size: int
    state: Literal["open", "complete"]


class ChunkAck(BaseModel):
    offset: int


class UploadComplete(BaseModel):
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class UploadDone(BaseModel):
    file_id: int
    state: Literal["complete"] = "complete"


class FileNotify(BaseModel):
    """A file event from an external watcher (agents send theirs over the link)."""

    model_config = ConfigDict(extra="ignore")

    event: Literal["created", "upload_started", "upload_completed", "upload_failed", "missing"]
    node: str = Field(min_length=1, max_length=128)
    path: str = Field(min_length=1, max_length=2048)
    file_key: str | None = Field(default=None, max_length=256, description="Default: the path.")
    file_name: str | None = Field(default=None, max_length=512)
    size: int = Field(default=0, ge=0)
    app: str | None = Field(default=None, max_length=128)
    namespace: str | None = Field(default=None, max_length=128)
    metadata: dict[str, str] = Field(default_factory=dict)
    error: str | None = Field(default=None, max_length=2048)


class FileRead(BaseModel):
    id: int
    file_name: str
    path: str
    node: str
    node_id: str | None
    app: str | None
    namespace: str | None
    status: FileState
    size: int
    source: str
    error: str | None
    error_type: str | None
    sha256: str | None
    metadata: dict[str, str]
    created_at: datetime
    updated_at: datetime
    uploaded_at: datetime | None
    analyzed_at: datetime | None
    failed_at: datetime | None


class ProcessingRead(BaseModel):
    id: int
    step: str
    status: str
    retry_count: int
    backend: str | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_seconds: float | None
    error: str | None
    error_type: str | None
    details: dict[str, Any]


class RetryRead(BaseModel):
    id: int
    retry_type: str
    reason: str
    status: str
    count: int
    max_count: int
    manual: bool
    requested_by: str
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class RetryWithFile(RetryRead):
    file_id: int
    file_name: str
    node: str
    app: str | None
    file_status: FileState


class ReportBrief(BaseModel):
    backend: str
    summary: str
    summary_source: str
    leak_suspects: list[dict[str, Any]]
    heap: dict[str, Any]
    access_count: int
    link_expires_at: datetime | None


class UploadProgress(BaseModel):
    upload_id: str
    offset: int
    size: int
    state: str
    updated_at: datetime


class FileDetail(FileRead):
    processing: list[ProcessingRead]
    retries: list[RetryRead]
    report: ReportBrief | None
    upload: UploadProgress | None


class StatusRead(BaseModel):
    id: int
    status: FileState
    error: str | None
    updated_at: datetime


class StatusUpdate(BaseModel):
    status: FileState
    reason: str = Field(default="", max_length=1024)


class RetryResult(BaseModel):
    file_id: int
    step: str | None = None
    retry_id: int | None = None
    dispatched: bool = False
    error: str | None = None
    code: str | None = None


class BatchRetry(BaseModel):
    file_ids: list[int] = Field(min_length=1, max_length=500)


class ReportLink(BaseModel):
    file_id: int
    url: str
    expires_at: datetime
    expired: bool
    access_count: int
    last_access_at: datetime | None
    exists: bool
    backend: str
    external_url: str | None
    summary: str
    summary_source: str
    leak_suspects: list[dict[str, Any]]


class ReportValidity(BaseModel):
    file_id: int
    exists: bool
    link_valid: bool
    expires_at: datetime | None


class ReportStats(BaseModel):
    reports: int
    accesses: int
    valid_links: int
    expired_links: int
    by_backend: dict[str, int]
    most_accessed: list[dict[str, Any]]


class AppCount(BaseModel):
    app: str
    count: int


class DashboardStats(BaseModel):
    by_status: dict[str, int]
    today: int
    failed_today: int
    mean_processing_seconds: float | None
    top_apps: list[AppCount]
    by_node: dict[str, int]
    per_app_day: list[dict[str, Any]]
    success_rate: dict[str, float]
    retry_success_rate: dict[str, float]
    error_types: dict[str, int]


class WatchRuleCreate(BaseModel):
    name: str = Name
    paths: list[str] = Field(min_length=1, max_length=32)
    patterns: list[str] = Field(default_factory=lambda: ["*.hprof", "*.hprof.gz"], max_length=32)
    path_template: str | None = Field(default=None, max_length=1024)
    stable_seconds: float = Field(default=10.0, ge=0, le=3600)
    after_upload: Literal["keep", "delete", "compress"] = "keep"
    node_ids: list[str] = Field(default_factory=list, max_length=1000)
    labels: dict[str, str] = Field(default_factory=dict)
    enabled: bool = True


class WatchRuleUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    paths: list[str] | None = Field(default=None, min_length=1, max_length=32)
    patterns: list[str] | None = Field(default=None, max_length=32)
    path_template: str | None = Field(default=None, max_length=1024)
    stable_seconds: float | None = Field(default=None, ge=0, le=3600)
    after_upload: Literal["keep", "delete", "compress"] | None = None
    node_ids: list[str] | None = Field(default=None, max_length=1000)
    labels: dict[str, str] | None = None
    enabled: bool | None = None


class WatchRuleRead(WatchRuleCreate):
    id: int
    created_at: datetime
    updated_at: datetime


class DumpSettingsRead(BaseModel):
    backend: str
    jenkins_url: str | None
    jenkins_job: str
    jenkins_user: str | None
    jenkins_token_set: bool
    ai_url: str | None
    ai_model: str
    ai_key_set: bool
    retry_max_upload: int
    retry_max_analysis: int
    retry_max_ai_analysis: int
    retry_base_delay: float
    retry_max_delay: float
    report_link_ttl: float
    upload_bytes_per_second: int | None
    upload_concurrency: int
    secrets_unreadable: bool


class DumpSettingsUpdate(BaseModel):
    """Only the fields sent change; null puts a field back to its server default."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["builtin", "jenkins"] | None = None
    jenkins_url: str | None = Field(default=None, max_length=1024)
    jenkins_job: str | None = Field(default=None, max_length=256)
    jenkins_user: str | None = Field(default=None, max_length=256)
    jenkins_token: str | None = Field(default=None, max_length=1024)
    ai_url: str | None = Field(default=None, max_length=1024)
    ai_model: str | None = Field(default=None, max_length=256)
    ai_key: str | None = Field(default=None, max_length=1024)
    retry_max_upload: int | None = Field(default=None, ge=0, le=100)
    retry_max_analysis: int | None = Field(default=None, ge=0, le=100)
    retry_max_ai_analysis: int | None = Field(default=None, ge=0, le=100)
    retry_base_delay: float | None = Field(default=None, gt=0, le=86400)
    retry_max_delay: float | None = Field(default=None, gt=0, le=7 * 86400)
    report_link_ttl: float | None = Field(default=None, ge=60, le=365 * 86400)
    upload_bytes_per_second: int | None = Field(default=None, ge=1024)
    upload_concurrency: int | None = Field(default=None, ge=1, le=16)


class JenkinsTrigger(BaseModel):
    file_id: int


class JenkinsJobRead(BaseModel):
    id: int
    file_id: int
    job_name: str
    queue_id: int | None
    build_number: int | None
    build_url: str | None
    status: str
    result: str | None
    report_url: str | None
    callback_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class JenkinsCallback(BaseModel):
    """What the Jenkins job POSTs to its CALLBACK_URL when it is done."""

    model_config = ConfigDict(extra="allow")

    status: Literal["success", "failure", "ok", "failed"] = "success"
    report_url: str | None = Field(default=None, max_length=2048)
    message: str | None = Field(default=None, max_length=2048)
    report: dict[str, Any] | None = Field(
        default=None, description="Optional: the report JSON (opsplane.heapdump schema)."
    )
