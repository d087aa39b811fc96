"""In-process bus: handlers run inside `publish`, in subscription order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opsplane.server.bus.base import Handler, subject_matches


@dataclass(eq=False)
class _LocalSubscription:
    bus: LocalBus
    pattern: str
    handler: Handler
    group: str | None = None

    async def unsubscribe(self) -> None:
        if self in self.bus.subscriptions:
            self.bus.subscriptions.remove(self)


@dataclass
class LocalBus:
    subscriptions: list[_LocalSubscription] = field(default_factory=list)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self.subscriptions.clear()

    async def ping(self) -> None:
        return None

    async def publish(self, subject: str, message: Any) -> None:
        """Deliver to every matching subscription (one per queue group), raising their errors."""
        seen_groups: set[str] = set()
        for sub in list(self.subscriptions):
            if not subject_matches(sub.pattern, subject):
                continue
            if sub.group is not None:
                if sub.group in seen_groups:
                    continue
                seen_groups.add(sub.group)
            await sub.handler(subject, message)

    async def subscribe(
        self, subject: str, handler: Handler, *, group: str | None = None
    ) -> _LocalSubscription:
        sub = _LocalSubscription(self, subject, handler, group)
        self.subscriptions.append(sub)
        return sub
