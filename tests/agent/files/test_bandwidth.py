from __future__ import annotations

import pytest

from opsplane.agent.files.bandwidth import TokenBucket


def test_unlimited_never_waits() -> None:
    bucket = TokenBucket(lambda: None)
    assert not bucket.limited()
    assert bucket.reserve(10**9) == pytest.approx(0.0)


def test_bytes_are_spaced_at_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(lambda: 1000, burst=0.0, clock=lambda: now[0])
    assert bucket.reserve(500) == pytest.approx(0.5)  # paid for before they go
    assert bucket.reserve(500) == pytest.approx(1.0)
    assert bucket.reserve(1000) == pytest.approx(2.0)
    now[0] += 2.0  # the callers slept; everything booked has gone
    assert bucket.reserve(100) == pytest.approx(0.1)


def test_an_idle_bucket_lends_only_the_burst() -> None:
    now = [100.0]
    bucket = TokenBucket(lambda: 1000, burst=0.2, clock=lambda: now[0])
    now[0] += 60.0  # a minute idle does not buy a minute of full speed
    assert bucket.reserve(200) == pytest.approx(0.0)
    assert bucket.reserve(200) == pytest.approx(0.2)


def test_a_new_rate_applies_to_the_next_bytes() -> None:
    now = [0.0]
    rate = [1000]
    bucket = TokenBucket(lambda: rate[0], burst=0.0, clock=lambda: now[0])
    bucket.reserve(1000)
    rate[0] = 100
    assert bucket.reserve(100) == pytest.approx(2.0)
    assert bucket.reserve(100) == pytest.approx(3.0)
