"""The credential cache expires entries and stays bounded."""

from __future__ import annotations

from opsplane.server.auth.cache import PrincipalCache
from opsplane.server.auth.principal import Principal
from opsplane.server.auth.roles import Role

ALICE = Principal(1, "alice", Role.operator, via="api_token", token_id=3)


def test_entries_expire_after_ttl() -> None:
    now = [100.0]
    cache = PrincipalCache(ttl=5.0, clock=lambda: now[0])
    cache.put("opt_secret", ALICE)
    assert cache.get("opt_secret") == ALICE
    assert cache.get("opt_other") is None
    now[0] += 5.01
    assert cache.get("opt_secret") is None


def test_cache_is_bounded_and_clearable() -> None:
    cache = PrincipalCache(max_entries=3)
    for i in range(4):
        cache.put(f"opt_{i}", ALICE)
    assert cache.get("opt_0") is None  # the flood emptied it before the fourth entry
    assert cache.get("opt_3") == ALICE
    cache.clear()
    assert cache.get("opt_3") is None
