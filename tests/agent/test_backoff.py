from __future__ import annotations

import random

import pytest

from opsplane.agent.backoff import Backoff


def test_ceiling_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=lambda: 1.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_full_jitter_stays_within_bounds() -> None:
    rng = random.Random(7)
    backoff = Backoff(base=0.5, cap=30.0, rng=rng.random)
    for attempt in range(200):
        ceiling = backoff.ceiling()
        assert ceiling == min(30.0, 0.5 * 2**attempt)
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling


def test_jitter_spreads_over_the_window() -> None:
    backoff = Backoff(base=8.0, cap=8.0, rng=random.Random(1).random)
    delays = [backoff.next_delay() for _ in range(2000)]
    assert min(delays) < 0.5
    assert max(delays) > 7.5
    assert sum(delays) / len(delays) == pytest.approx(4.0, rel=0.1)


def test_reset_starts_over_and_huge_attempt_counts_do_not_overflow() -> None:
    backoff = Backoff(base=0.5, cap=30.0, rng=lambda: 1.0)
    backoff.failures = 10_000
    assert backoff.next_delay() == 30.0
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_a_cap_for_one_delay_lowers_the_ceiling_but_the_count_grows() -> None:
    backoff = Backoff(base=1.0, cap=60.0, rng=lambda: 0.999)
    for _ in range(5):
        backoff.next_delay()
    assert backoff.next_delay(cap=5.0) == pytest.approx(4.995)
    assert backoff.next_delay() == pytest.approx(0.999 * 60)
