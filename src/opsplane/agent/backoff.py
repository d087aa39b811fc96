"""Reconnect delays: exponential backoff with full jitter, so a fleet does not stampede."""

from __future__ import annotations

import random
from collections.abc import Callable


class Backoff:
    """Delay before the next attempt: uniform in [0, min(cap, base * 2**failures)].

    Full jitter (rather than a fixed doubling) spreads thousands of agents that lost the
    server at the same moment over the whole window when it comes back.

    Args:
        base: Upper bound of the first delay, in seconds.
        cap: Largest upper bound, in seconds.
        rng: Returns a float in [0, 1); injectable for tests.
    """

    def __init__(
        self, *, base: float = 0.5, cap: float = 30.0, rng: Callable[[], float] = random.random
    ) -> None:
        self.base = base
        self.cap = cap
        self.rng = rng
        self.failures = 0

    def ceiling(self) -> float:
        """Upper bound of the next delay."""
        # min() before the power would still overflow for huge counts; cap the exponent.
        return min(self.cap, self.base * 2.0 ** min(self.failures, 62))

    def next_delay(self, cap: float | None = None) -> float:
        """The next delay; `cap` lowers the ceiling for this one (the count still grows)."""
        ceiling = self.ceiling() if cap is None else min(cap, self.ceiling())
        delay = self.rng() * ceiling
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0
