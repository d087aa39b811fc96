"""Login rate limiting: a sliding one-minute window of failed attempts per client and per user.

Kept in process memory: with several server processes each enforces its own window, which
still bounds guessing to N x processes attempts a minute.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginRateLimiter:
    def __init__(
        self, attempts_per_minute: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = attempts_per_minute
        self._failures: dict[str, deque[float]] = {}
        self._now = clock

    def retry_after(self, *keys: str) -> float:
        """Seconds until another attempt is allowed for all keys (0 when allowed now)."""
        now = self._now()
        wait = 0.0
        for key in keys:
            window = self._window(key, now)
            if len(window) >= self.limit:
                wait = max(wait, 60.0 - (now - window[0]))
        return wait

    def record_failure(self, *keys: str) -> None:
        now = self._now()
        for key in keys:
            self._window(key, now).append(now)

    def reset(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _window(self, key: str, now: float) -> deque[float]:
        window = self._failures.setdefault(key, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(self._failures) > 100_000:  # bound memory under a spray of distinct keys
            self._failures = {k: v for k, v in self._failures.items() if v}
        return window
