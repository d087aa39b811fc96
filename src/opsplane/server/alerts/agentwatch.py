"""Threshold watches for agents: the fast-path rules, handed out in each node's config.

A rule the ingest fast path judges per sample (`metric{...} op number`) is also sent to the
agents whose series it can select, as a `ThresholdWatch` (protocol/thresholds.py): the agent
checks those series every `threshold_check_interval` seconds and reports a crossing at once,
so the alert does not wait for the next metrics tick. Matchers on `node` and `node_id` are
resolved here (a watch goes only to the nodes it can select); the others go to the agent.

The watch set is rebuilt after every rule reload; when it changes, the connected agents
whose share changed get their new config (`config` command).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from sqlalchemy import select

from opsplane.protocol.thresholds import Matcher, ThresholdWatch
from opsplane.server.alerts.builder import fast_path_of
from opsplane.server.alerts.engine import AlertEngine
from opsplane.server.db import Database
from opsplane.server.fleet.models import Node
from opsplane.server.metrics.model import LabelMatcher

log = structlog.get_logger(__name__)

NODE_LABELS = ("node", "node_id")
"""Labels the server sets on every agent series and the agent does not know: matched here."""

PUSH_CONCURRENCY = 100


class AgentWatches:
    """The current watches and each node's share of them (the fleet's AgentConfig hook).

    Args:
        engine: Whose fast-path rules become watches.
        db: To load the connected nodes when the set changes.
        connected: Ids of the nodes linked to this process.
        push: Sends a node its effective config now.
    """

    def __init__(
        self,
        engine: AlertEngine,
        db: Database,
        *,
        connected: Callable[[], list[str]],
        push: Callable[[Node], Coroutine[Any, Any, None]],
    ) -> None:
        self.engine = engine
        self.db = db
        self.connected = connected
        self.push = push
        self.watches: tuple[tuple[ThresholdWatch, tuple[LabelMatcher, ...]], ...] = ()
        self._pushing: asyncio.Task[None] | None = None

    def build(self) -> tuple[tuple[ThresholdWatch, tuple[LabelMatcher, ...]], ...]:
        """(watch, node-level matchers) of every fast-path rule, in rule order."""
        out = []
        for rule_id, fast in sorted(self.engine.fast.items()):
            state = self.engine.states.get(rule_id)
            thresholds = {fast.threshold}
            if state is not None and state.rule.enter is not None:
                # Hysteresis: the fast path evaluates the clear threshold, new alerts need
                # the fire one (the rule's own `expr`); a crossing of either matters.
                fire = fast_path_of(state.rule.expr)
                if fire is not None:
                    thresholds.add(fire.threshold)
            on_node = tuple(m for m in fast.matchers if m.name in NODE_LABELS)
            watch = ThresholdWatch(
                rule_id=str(rule_id),
                metric=fast.metric,
                op=fast.op,  # type: ignore[arg-type]
                thresholds=tuple(sorted(thresholds)),
                matchers=tuple(
                    Matcher(m.name, m.op, m.value) for m in fast.matchers if m not in on_node
                ),
            )
            out.append((watch, on_node))
        return tuple(out)

    def for_node(self, node: Node) -> tuple[ThresholdWatch, ...]:
        return self.share(self.watches, node)

    @staticmethod
    def share(
        watches: tuple[tuple[ThresholdWatch, tuple[LabelMatcher, ...]], ...], node: Node
    ) -> tuple[ThresholdWatch, ...]:
        have = {"node": node.name, "node_id": node.id}
        return tuple(w for w, on_node in watches if all(m.matches(have[m.name]) for m in on_node))

    def contribute(self, node: Node) -> dict[str, Any]:
        return {"threshold_watches": self.for_node(node)}

    def refresh(self) -> None:
        """After a rule reload: rebuild, and push to the agents whose share changed."""
        new = self.build()
        if new == self.watches:
            return
        old, self.watches = self.watches, new
        previous = self._pushing
        self._pushing = asyncio.get_running_loop().create_task(
            self._push_changed(old, new, previous), name="alerts-agent-watches"
        )

    async def _push_changed(
        self,
        old: tuple[tuple[ThresholdWatch, tuple[LabelMatcher, ...]], ...],
        new: tuple[tuple[ThresholdWatch, tuple[LabelMatcher, ...]], ...],
        previous: asyncio.Task[None] | None,
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)  # keep pushes in order
        ids = self.connected()
        if not ids:
            return
        try:
            async with self.db.session() as session:
                nodes = (await session.scalars(select(Node).where(Node.id.in_(ids)))).all()
            changed = [n for n in nodes if self.share(old, n) != self.share(new, n)]
            gate = asyncio.Semaphore(PUSH_CONCURRENCY)

            async def push(node: Node) -> None:
                async with gate:
                    await self.push(node)

            await asyncio.gather(*(push(n) for n in changed))
        except Exception:  # agents get the watches on reconnect; the next change pushes again
            log.exception("pushing threshold watches failed")

    async def close(self) -> None:
        if self._pushing is not None:
            self._pushing.cancel()
            await asyncio.gather(self._pushing, return_exceptions=True)
