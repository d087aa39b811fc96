"""A short-lived cache of who a credential belongs to.

Without it every API call (a Prometheus remote write every second, say) costs a database
lookup to resolve its bearer token. Entries live `ttl` seconds; any change to users,
tokens or nodes clears the cache of this process at once, so other processes see such a
change within `ttl` at the latest.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from opsplane.server.auth.principal import Principal


class PrincipalCache:
    def __init__(
        self,
        *,
        ttl: float = 5.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}

    @staticmethod
    def _key(credential: str) -> str:
        return hashlib.sha256(credential.encode()).hexdigest()

    def get(self, credential: str) -> Principal | None:
        key = self._key(credential)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, principal = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return principal

    def put(self, credential: str, principal: Principal) -> None:
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # a flood of distinct tokens must not grow memory
        self._entries[self._key(credential)] = (self._clock() + self.ttl, principal)

    def clear(self) -> None:
        self._entries.clear()
