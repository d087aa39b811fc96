"""The pipeline's run-time settings: env/toml defaults overlaid with what the settings API
stored. Jenkins and AI credentials are sealed at rest with the alerts domain's SecretBox."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.channels.secretbox import SecretBox, SecretsUnreadable
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.dumps.models import DumpSettingsRow
from opsplane.server.dumps.retries import RetryPolicy
from opsplane.server.dumps.states import Step
from opsplane.server.settings import Settings

SECRET_FIELDS = ("jenkins_token", "ai_key")


@dataclass(frozen=True, slots=True)
class DumpConfig:
    backend: str = "builtin"
    jenkins_url: str | None = None
    jenkins_job: str = "heapdump-analysis"
    jenkins_user: str | None = None
    jenkins_token: str | None = None
    ai_url: str | None = None
    ai_model: str = "gpt-4o-mini"
    ai_key: str | None = None
    retry_max_upload: int = 3
    retry_max_analysis: int = 2
    retry_max_ai_analysis: int = 3
    retry_base_delay: float = 30.0
    retry_max_delay: float = 3600.0
    report_link_ttl: float = 7 * 86400.0
    upload_bytes_per_second: int | None = None
    upload_concurrency: int = 1
    secrets_unreadable: bool = False

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            {
                Step.upload: self.retry_max_upload,
                Step.analysis: self.retry_max_analysis,
                Step.ai_analysis: self.retry_max_ai_analysis,
            },
            self.retry_base_delay,
            self.retry_max_delay,
        )

    def public(self) -> dict[str, Any]:
        """Every value, secrets replaced by whether they are set."""
        values = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for name in SECRET_FIELDS:
            values[f"{name}_set"] = bool(values.pop(name))
        return values


def defaults(settings: Settings) -> DumpConfig:
    def secret(value: Any) -> str | None:
        return value.get_secret_value() if value is not None else None

    return DumpConfig(
        backend=settings.dumps_backend,
        jenkins_url=settings.dumps_jenkins_url,
        jenkins_job=settings.dumps_jenkins_job,
        jenkins_user=settings.dumps_jenkins_user,
        jenkins_token=secret(settings.dumps_jenkins_token),
        ai_url=settings.dumps_ai_url,
        ai_model=settings.dumps_ai_model,
        ai_key=secret(settings.dumps_ai_key),
        retry_max_upload=settings.dumps_retry_max_upload,
        retry_max_analysis=settings.dumps_retry_max_analysis,
        retry_max_ai_analysis=settings.dumps_retry_max_ai_analysis,
        retry_base_delay=settings.dumps_retry_base_delay,
        retry_max_delay=settings.dumps_retry_max_delay,
        report_link_ttl=settings.dumps_report_link_ttl,
        upload_bytes_per_second=settings.dumps_upload_bytes_per_second,
        upload_concurrency=settings.dumps_upload_concurrency,
    )


async def _row(session: AsyncSession) -> DumpSettingsRow | None:
    row: DumpSettingsRow | None = await session.scalar(
        select(DumpSettingsRow).order_by(DumpSettingsRow.id).limit(1)
    )
    return row


async def load(session: AsyncSession, *, settings: Settings, box: SecretBox) -> DumpConfig:
    base = defaults(settings)
    row = await _row(session)
    if row is None:
        return base
    known = set(base.__dataclass_fields__) - set(SECRET_FIELDS) - {"secrets_unreadable"}
    values = {k: v for k, v in (row.values or {}).items() if k in known}
    try:
        secrets = {k: v for k, v in box.open(row.sealed).items() if k in SECRET_FIELDS}
    except SecretsUnreadable:
        return replace(base, **values, secrets_unreadable=True)
    return replace(base, **values, **secrets)


async def update(
    session: AsyncSession,
    *,
    changes: dict[str, Any],
    settings: Settings,
    box: SecretBox,
    by: Actor,
) -> DumpConfig:
    """Store changed values (None clears a value back to its default); audited without
    secrets."""
    row = await _row(session)
    if row is None:
        row = DumpSettingsRow(values={}, sealed="")
        session.add(row)
    values = dict(row.values or {})
    try:
        secrets = box.open(row.sealed)
    except SecretsUnreadable:
        secrets = {}
    before = {**values, **{f"{k}_set": k in secrets for k in SECRET_FIELDS}}
    for key, value in changes.items():
        target = secrets if key in SECRET_FIELDS else values
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    row.values, row.sealed, row.updated_by = values, box.seal(secrets), by.name
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="dumps.settings",
        target_type="dump_settings",
        summary="heap-dump pipeline settings",
        before=before,
        after={**values, **{f"{k}_set": k in secrets for k in SECRET_FIELDS}},
    )
    return await load(session, settings=settings, box=box)
