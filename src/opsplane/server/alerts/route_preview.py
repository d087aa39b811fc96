"""Where an alert would go: the routing tree and channels exactly as the dispatcher uses them
(routes, inherited timing, receivers, group key), plus whether it would be muted now."""

from __future__ import annotations

from collections.abc import Mapping

from opsplane.server.alerts.channels.base import ChannelConfig
from opsplane.server.alerts.dispatcher import group_key, group_labels, receivers_for
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.alerts.notify_schemas import (
    ReceiverRef,
    RouteMatch,
    RoutePreview,
    SkippedReceiver,
)
from opsplane.server.alerts.routing import ResolvedRoute, Router


def _ref(channel: ChannelConfig) -> ReceiverRef:
    return ReceiverRef(id=channel.id, name=channel.name, type=channel.type)


def _skipped(route: ResolvedRoute, channels: Mapping[int, ChannelConfig]) -> list[SkippedReceiver]:
    out = []
    for channel_id in route.receivers or ():
        channel = channels.get(channel_id)
        if channel is None:
            out.append(SkippedReceiver(id=channel_id, name="", reason="unknown"))
        elif not channel.enabled:
            out.append(SkippedReceiver(id=channel_id, name=channel.name, reason="disabled"))
    return out


def route_match(
    route: ResolvedRoute, channels: Mapping[int, ChannelConfig], labels: Mapping[str, str]
) -> RouteMatch:
    group_by = route.timing.group_by
    return RouteMatch(
        path=route.path,
        receivers=[_ref(c) for c in receivers_for(route, channels)],
        default_receivers=route.receivers is None,
        skipped=_skipped(route, channels),
        group_by=None if group_by is None else list(group_by),
        group_key=group_key(route, group_labels(route, labels)),
        group_wait=route.timing.group_wait,
        group_interval=route.timing.group_interval,
        repeat_interval=route.timing.repeat_interval,
        escalate_after=route.escalate_after,
        escalate_to=[
            _ref(channels[i]) for i in route.escalate_to if i in channels and channels[i].enabled
        ],
    )


def preview(engine: AlertEngine, router: Router, labels: Mapping[str, str]) -> RoutePreview:
    """Where an alert with `labels` goes by `router` (the engine's, or a tree being edited)."""
    channels = engine.channels
    return RoutePreview(
        labels=dict(labels),
        routes=[route_match(r, channels, labels) for r in router.routes_for(labels)],
        silenced_by=engine.silenced_by(labels),
        inhibited=engine.inhibited(labels),
    )
