"""The Bus interface.

`publish` returns once the message is durably accepted: by every local consumer for
LocalBus (handlers run before it returns), by JetStream for NatsBus. The agent link acks a
batch to the agent only after that, so nothing acked is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

Handler = Callable[[str, Any], Awaitable[None]]


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, subject: str, message: Any) -> None: ...

    async def subscribe(
        self, subject: str, handler: Handler, *, group: str | None = None
    ) -> Subscription: ...

    async def ping(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS-style matching: `*` is one token, a final `>` is one or more tokens."""
    want = pattern.split(".")
    have = subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(have) > i
        if i >= len(have) or (token != "*" and token != have[i]):
            return False
    return len(want) == len(have)
