"""Server settings: env `OPSPLANE_*`, then an optional `opsplane.toml`, then safe defaults."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPSPLANE_", toml_file="opsplane.toml", extra="ignore", frozen=True
    )

    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        default=None, description="URL agents and browsers use to reach the server."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default SQLite in the data directory."
    )
    secret_key: SecretStr | None = Field(
        default=None, description="Signs sessions; default: generated once into the data dir."
    )
    admin_password: SecretStr | None = None

    heartbeat_interval: float = Field(default=5.0, gt=0, le=3600)
    metrics_interval: float = Field(default=10.0, gt=0, le=3600)
    # Agents check the series of threshold (fast-path) rules this often between metrics
    # ticks and report a crossing at once (protocol/thresholds.py); 0 turns it off.
    threshold_check_interval: float = Field(default=0.25, ge=0, le=3600)
    offline_after_missed_heartbeats: int = Field(default=3, ge=1)
    command_timeout: float = Field(default=10.0, gt=0)
    metrics_window_seconds: int = Field(default=3600, ge=60)

    # --- metrics storage (owner: metrics storage; see server/metrics/tsdb/) ---------------
    # "embedded": the built-in TSDB (WAL in data_dir/tsdb, chunks and rollups in the database).
    # "prometheus": every sample is remote-written to `metrics_remote_url` (a Prometheus-
    # compatible TSDB: Prometheus, VictoriaMetrics, Mimir) and queries are forwarded there.
    metrics_backend: Literal["embedded", "prometheus"] = "embedded"
    metrics_remote_url: str | None = Field(
        default=None,
        description="Base URL of the remote TSDB's Prometheus API, e.g. http://prom:9090.",
    )
    metrics_remote_write_url: str | None = Field(
        default=None, description="Remote write URL; default <metrics_remote_url>/api/v1/write."
    )
    metrics_remote_token: SecretStr | None = Field(
        default=None, description="Bearer token sent to the remote TSDB, if it needs one."
    )
    metrics_remote_batch_samples: int = Field(
        default=200_000, ge=1000, description="Samples per remote write send, at most."
    )
    metrics_retention_raw_days: float = Field(default=15.0, gt=0)
    metrics_retention_rollup_days: float = Field(default=400.0, gt=0)
    metrics_block_hours: int = Field(default=2, ge=1, le=24, description="Chunk block length.")
    metrics_flush_seconds: float = Field(
        default=600.0, gt=0, description="How often head samples become chunks (WAL length)."
    )
    metrics_compaction_seconds: float = Field(default=300.0, gt=0)
    metrics_wal_fsync: Literal["always", "interval"] = Field(
        default="always",
        description="always: group-committed fsync before an ack; interval: fsync every "
        "metrics_wal_fsync_interval s (survives a process crash, not a power cut).",
    )
    metrics_wal_fsync_interval: float = Field(default=1.0, gt=0)
    # --- end metrics storage ---------------------------------------------------------------

    session_ttl_minutes: int = Field(default=12 * 60, ge=5)
    cookie_secure: bool = False
    login_attempts_per_minute: int = Field(default=10, ge=1)

    # -- alerts (server/alerts): routing defaults, delivery, evaluation ------------------------
    # Incidents group firing alerts that share these labels' values.
    alerts_incident_group_by: tuple[str, ...] = ("alertname",)
    # Root-route defaults. group_wait is 0 (Alertmanager: 30s) because alerts are evaluated
    # on ingest and the first notification should leave at once.
    alerts_group_wait: float = Field(default=0.0, ge=0, le=3600)
    alerts_group_interval: float = Field(default=60.0, ge=0.1, le=86400)
    alerts_repeat_interval: float = Field(default=4 * 3600.0, ge=1)
    alerts_delivery_attempts: int = Field(default=5, ge=1, le=20)
    alerts_retry_base_delay: float = Field(default=0.5, gt=0, le=60)
    alerts_delivery_timeout: float = Field(default=10.0, gt=0, le=120)
    alerts_query_timeout: float = Field(default=10.0, gt=0, le=300)
    alerts_fast_path: bool = True
    alerts_reload_interval: float = Field(default=10.0, ge=0.5, le=3600)

    # -- dumps (server/dumps): heap-dump uploads, analysis, retries, reports -----------------
    dumps_chunk_size: int = Field(
        default=8 << 20, ge=64 << 10, le=256 << 20, description="Upload chunk size, bytes."
    )
    dumps_max_file_bytes: int = Field(default=256 << 30, ge=1, description="Largest dump.")
    dumps_backend: Literal["builtin", "jenkins"] = Field(
        default="builtin", description="Analysis backend (the settings API can change it)."
    )
    dumps_analysis_concurrency: int = Field(default=1, ge=1, le=64)
    dumps_analysis_timeout: float = Field(default=3600.0, gt=0)
    dumps_analysis_memory_mb: int = Field(
        default=16384, ge=0, description="RLIMIT_AS of each analysis worker; 0: no limit."
    )
    dumps_retry_max_upload: int = Field(default=3, ge=0, le=100)
    dumps_retry_max_analysis: int = Field(default=2, ge=0, le=100)
    dumps_retry_max_ai_analysis: int = Field(default=3, ge=0, le=100)
    dumps_retry_base_delay: float = Field(default=30.0, gt=0, description="First retry, s.")
    dumps_retry_max_delay: float = Field(default=3600.0, gt=0)
    dumps_retry_check_interval: float = Field(default=5.0, gt=0, le=600)
    dumps_report_link_ttl: float = Field(default=7 * 86400.0, ge=60, description="Seconds.")
    dumps_upload_bytes_per_second: int | None = Field(default=None, ge=1024)
    dumps_upload_concurrency: int = Field(default=1, ge=1, le=16)
    dumps_ai_url: str | None = Field(default=None, description="OpenAI-compatible base URL.")
    dumps_ai_model: str = "gpt-4o-mini"
    dumps_ai_key: SecretStr | None = None
    dumps_ai_timeout: float = Field(default=60.0, gt=0)
    dumps_jenkins_url: str | None = None
    dumps_jenkins_job: str = "heapdump-analysis"
    dumps_jenkins_user: str | None = None
    dumps_jenkins_token: SecretStr | None = None
    dumps_jenkins_poll_interval: float = Field(default=5.0, gt=0)
    dumps_jenkins_timeout: float = Field(default=3 * 3600.0, gt=0)
    dumps_metrics_interval: float = Field(default=15.0, gt=0)
    # -- end dumps ----------------------------------------------------------------------------

    bus: Literal["local"] = "local"

    log_level: str = "info"
    log_json: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    @cached_property
    def resolved_database_url(self) -> str:
        """Async SQLAlchemy URL (SQLite file in the data dir unless one is configured)."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'opsplane.db').resolve()}"
        url = self.database_url
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The configured secret, or one generated once and kept (mode 0600) in the data dir."""
        if self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < 32:
                raise ValueError("OPSPLANE_SECRET_KEY must be at least 32 characters")
            return value
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)
        tmp.write_text(key)
        tmp.replace(path)
        return key
