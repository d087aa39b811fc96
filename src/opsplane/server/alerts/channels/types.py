"""Per-type channel settings, which of them are secrets, and each type's sender."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from opsplane.server.alerts.channels import alertmanager, chat, email, webhook
from opsplane.server.alerts.channels.base import Sender
from opsplane.server.errors import Invalid

ChannelType = Literal["webhook", "alertmanager", "email", "slack", "dingtalk", "wecom"]


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


HttpUrlText = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookConfig(_Config):
    url: HttpUrlText
    headers: dict[str, str] = Field(default_factory=dict, description="Secret (may hold tokens).")
    hmac_secret: str | None = Field(default=None, description="Secret: signs the body.")


class AlertmanagerConfig(_Config):
    url: HttpUrlText
    bearer_token: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    max_alerts: int = Field(default=0, ge=0)


class EmailConfig(_Config):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_addr: str = Field(min_length=3, max_length=255)
    to: list[str] = Field(min_length=1, max_length=100)
    subject_prefix: str = Field(default="", max_length=64)
    timeout: float = Field(default=10, gt=0, le=120)
    ca_cert: str | None = Field(
        default=None,
        max_length=65536,
        description="PEM certificate(s) to trust for TLS (an internal CA); default: the system's.",
    )

    @field_validator("ca_cert")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        try:
            ssl.create_default_context(cadata=value)
        except (ssl.SSLError, ValueError) as exc:
            raise ValueError(f"not a PEM certificate: {exc}") from None
        return value


class SlackConfig(_Config):
    webhook_url: HttpUrlText
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None


class DingTalkConfig(_Config):
    webhook_url: HttpUrlText
    sign_secret: str | None = None
    at_mobiles: list[str] = Field(default_factory=list)


class WeComConfig(_Config):
    webhook_url: HttpUrlText


@dataclass(frozen=True, slots=True)
class ChannelKind:
    config: type[_Config]
    secret_fields: frozenset[str]
    send: Sender


KINDS: dict[str, ChannelKind] = {
    "webhook": ChannelKind(WebhookConfig, frozenset({"headers", "hmac_secret"}), webhook.send),
    "alertmanager": ChannelKind(
        AlertmanagerConfig, frozenset({"bearer_token", "headers"}), alertmanager.send
    ),
    "email": ChannelKind(EmailConfig, frozenset({"password"}), email.send),
    "slack": ChannelKind(SlackConfig, frozenset({"webhook_url"}), chat.send_slack),
    "dingtalk": ChannelKind(
        DingTalkConfig, frozenset({"webhook_url", "sign_secret"}), chat.send_dingtalk
    ),
    "wecom": ChannelKind(WeComConfig, frozenset({"webhook_url"}), chat.send_wecom),
}


def _kind(kind: str) -> ChannelKind:
    spec = KINDS.get(kind)
    if spec is None:
        raise Invalid(
            f"unknown channel type {kind!r}; use one of {sorted(KINDS)}", code="bad_channel_type"
        )
    return spec


def patch_settings(kind: str, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Stored settings with a PATCH applied: a value replaces, an explicit null clears the
    setting (back to its default: none, or e.g. port 25). A required one cannot be cleared."""
    fields = _kind(kind).config.model_fields
    out = dict(stored)
    for key, value in patch.items():
        if value is not None:
            out[key] = value
            continue
        field = fields.get(key)
        if field is None:
            raise Invalid(f"{kind} channel has no setting {key!r}", code="bad_channel_config")
        if field.is_required():
            raise Invalid(
                f"{kind} channel: {key} is required: it can be changed, not cleared",
                code="bad_channel_config",
            )
        out.pop(key, None)
    return out


def split_config(kind: str, raw: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate a type's settings and split them into (plain config, secrets)."""
    spec = _kind(kind)
    try:
        model = spec.config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(
            f"{kind} channel: {where}: {first['msg']}",
            code="bad_channel_config",
            details=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        ) from None
    values = model.model_dump(exclude_none=True)
    secrets = {k: v for k, v in values.items() if k in spec.secret_fields and v}
    plain = {k: v for k, v in values.items() if k not in spec.secret_fields}
    return plain, secrets
