"""The upload bandwidth limit: one token bucket shared by every upload of the agent.

Implemented as virtual scheduling: each byte is due `1/rate` seconds after the previous
one, a caller waits until its last byte is due, and an idle bucket lends at most `burst`
seconds of credit. Callers take small pieces
(tens of KB), so the rate holds over any window longer than a fraction of a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    """Paces byte counts to `rate()` bytes per second; `rate()` None means unlimited.

    Args:
        rate: Read at every call, so a config push changes the limit at once.
        burst: Seconds of unused rate an idle bucket may spend in one go.
        clock: Monotonic time source.
    """

    def __init__(
        self,
        rate: Callable[[], int | None],
        *,
        burst: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._next_free = 0.0

    def limited(self) -> bool:
        return bool(self.rate())

    def reserve(self, size: int) -> float:
        """Book `size` bytes; returns how many seconds the caller must wait before sending."""
        rate = self.rate()
        if not rate:
            return 0.0
        now = self.clock()
        # No await between the read and the write: safe for concurrent uploads on one loop.
        start = max(self._next_free, now - self.burst)
        self._next_free = start + size / rate
        # Paid before sending: once the wait is over, these bytes are within the rate.
        return max(0.0, self._next_free - now)

    async def take(self, size: int) -> None:
        delay = self.reserve(size)
        if delay > 0:
            await asyncio.sleep(delay)
