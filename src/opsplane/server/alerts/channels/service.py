"""Channels: CRUD with secrets sealed at rest, and loading them decrypted for the senders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from opsplane.server.alerts.channels.base import ChannelConfig
from opsplane.server.alerts.channels.secretbox import SecretBox, SecretsUnreadable
from opsplane.server.alerts.channels.types import KINDS, patch_settings, split_config
from opsplane.server.alerts.models import Channel
from opsplane.server.audit import service as audit
from opsplane.server.audit.service import Actor
from opsplane.server.errors import Conflict, NotFound


def _public(row: Channel) -> dict[str, Any]:
    return {
        "name": row.name,
        "type": row.type,
        "config": row.config,
        "enabled": row.enabled,
        "is_default": row.is_default,
        "send_resolved": row.send_resolved,
    }


def secrets_set(row: Channel, box: SecretBox) -> list[str]:
    try:
        return sorted(box.open(row.secrets))
    except SecretsUnreadable:
        return ["<unreadable: set again>"]


async def get_channel(session: AsyncSession, channel_id: int) -> Channel:
    row = await session.get(Channel, channel_id)
    if row is None:
        raise NotFound(f"channel {channel_id} not found", code="channel_not_found")
    return row


async def _unique(session: AsyncSession, name: str, own_id: int | None = None) -> None:
    other = await session.scalar(select(Channel.id).where(Channel.name == name))
    if other is not None and other != own_id:
        raise Conflict(f"a channel named {name!r} exists", code="channel_exists")


async def create_channel(
    session: AsyncSession,
    *,
    name: str,
    type: str,
    settings: dict[str, Any],
    enabled: bool,
    is_default: bool,
    send_resolved: bool,
    box: SecretBox,
    by: Actor,
) -> Channel:
    await _unique(session, name)
    plain, secrets = split_config(type, settings)
    row = Channel(
        name=name,
        type=type,
        config=plain,
        secrets=box.seal(secrets),
        enabled=enabled,
        is_default=is_default,
        send_resolved=send_resolved,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_channel.create",
        target_type="alert_channel",
        target_id=row.id,
        summary=f"{type} {name}",
        after=_public(row) | {"secrets": sorted(secrets)},
    )
    return row


async def update_channel(
    session: AsyncSession,
    *,
    channel_id: int,
    changes: dict[str, Any],
    settings: dict[str, Any] | None,
    box: SecretBox,
    by: Actor,
) -> Channel:
    """Apply a PATCH: settings it names change (null clears one), the others stay."""
    row = await get_channel(session, channel_id)
    try:
        secrets = box.open(row.secrets)
    except SecretsUnreadable:
        secrets = {}
    before = _public(row) | {"secrets": sorted(secrets)}
    if changes.get("name"):
        await _unique(session, changes["name"], row.id)
    if settings is not None:
        merged = patch_settings(row.type, {**row.config, **secrets}, settings)
        plain, secrets = split_config(row.type, merged)
        row.config, row.secrets = plain, box.seal(secrets)
    for key, value in changes.items():
        if value is not None:
            setattr(row, key, value)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_channel.update",
        target_type="alert_channel",
        target_id=row.id,
        summary=row.name,
        before=before,
        after=_public(row) | {"secrets": sorted(secrets)},
    )
    return row


async def delete_channel(session: AsyncSession, *, channel_id: int, by: Actor) -> None:
    row = await get_channel(session, channel_id)
    before = _public(row)
    await session.delete(row)
    await session.flush()
    await audit.record(
        session,
        by=by,
        action="alert_channel.delete",
        target_type="alert_channel",
        target_id=channel_id,
        summary=row.name,
        before=before,
    )


async def list_channels(session: AsyncSession) -> list[Channel]:
    return list(await session.scalars(select(Channel).order_by(Channel.name)))


def to_config(row: Channel, box: SecretBox) -> ChannelConfig:
    """The decrypted channel; unreadable secrets leave it without them (its sends fail)."""
    try:
        secrets = box.open(row.secrets)
    except SecretsUnreadable:
        secrets = {}
    return ChannelConfig(
        row.id,
        row.name,
        row.type,
        dict(row.config),
        secrets,
        row.send_resolved,
        row.enabled,
        row.is_default,
    )


async def load_all(session: AsyncSession, box: SecretBox) -> dict[int, ChannelConfig]:
    return {r.id: to_config(r, box) for r in await list_channels(session) if r.type in KINDS}
