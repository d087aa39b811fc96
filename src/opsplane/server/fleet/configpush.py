"""Pushing a node's effective agent config to its agent live (the `config` command)."""

from __future__ import annotations

import structlog

from opsplane.protocol.codec import to_builtins
from opsplane.server.context import ServerContext
from opsplane.server.errors import DomainError
from opsplane.server.fleet.models import Node
from opsplane.server.fleet.service import effective_config

log = structlog.get_logger(__name__)


async def push_config(ctx: ServerContext, node: Node) -> None:
    """Send the node's effective config to its agent now, if it is connected here."""
    config = effective_config(node, ctx.settings, ctx.agent_config)
    ctx.presence.set_interval(node.id, config.heartbeat_interval)
    if ctx.links.get(node.id) is None:
        return
    try:
        result = await ctx.commands.send(node.id, "config", to_builtins(config))
    except DomainError as exc:
        log.info("config push failed; the agent gets it on reconnect", error=exc.message)
        return
    if not result.ok:
        log.warning("agent rejected config", node=node.name, error=result.error)
