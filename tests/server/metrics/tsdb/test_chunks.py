"""Chunk codec: exact round trips (NaN bits included) and the compression it reaches."""

from __future__ import annotations

import numpy as np
import pytest

from opsplane.server.metrics.model import STALE_NAN, STALE_NAN_BITS
from opsplane.server.metrics.tsdb import chunks

START = 1_700_000_000_000


def roundtrip(ts: np.ndarray, values: np.ndarray) -> bytes:
    blob = chunks.encode(ts.astype(np.int64), values.astype(np.float64))
    back = chunks.decode(blob)
    np.testing.assert_array_equal(back.timestamps, ts)
    assert back.values.view(np.uint64).tolist() == values.view(np.uint64).tolist()
    return blob


def regular(count: int, step: int = 10_000, jitter: int = 0, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ts = START + np.arange(count, dtype=np.int64) * step
    if jitter:
        ts += rng.integers(-jitter, jitter + 1, count)
    return np.sort(ts)


@pytest.mark.parametrize("count", [1, 2, 3, 120, 721])
def test_round_trip_counter_and_gauge(count: int) -> None:
    ts = regular(count, jitter=7)
    roundtrip(ts, np.cumsum(np.full(count, 1024.0)))
    roundtrip(ts, np.random.default_rng(2).random(count))


def test_special_values_keep_their_bits() -> None:
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, STALE_NAN, 1e300, -5.5])
    roundtrip(regular(len(values)), values)
    decoded = chunks.decode(chunks.encode(regular(len(values)), values)).values
    assert int(decoded[5:6].view(np.uint64)[0]) == STALE_NAN_BITS


def test_integer_values_beyond_float_precision_use_xor_mode() -> None:
    values = np.array([2.0**60, 2.0**60 + 2**10, -3.0, 7.0])
    roundtrip(regular(4), values)


def test_wide_timestamp_gaps_and_negative_deltas_of_deltas() -> None:
    ts = np.array([START, START + 1, START + 100_000_000, START + 100_000_001, START + 2**40])
    roundtrip(ts, np.arange(5, dtype=np.float64))


def test_compression_on_typical_series() -> None:
    """Bytes per sample for 2 h of 10 s samples (the figures quoted in the design notes)."""
    count = 720
    rng = np.random.default_rng(3)
    counter = np.cumsum(rng.integers(0, 5000, count)).astype(np.float64)
    percent = np.round(rng.random(count) * 100, 1)
    gauge = rng.random(count)

    def size(ts: np.ndarray, values: np.ndarray) -> float:
        return len(roundtrip(ts, values)) / count

    exact, jittered = regular(count), regular(count, jitter=5)
    assert size(exact, np.full(count, 1.0)) < 0.1
    assert size(exact, counter) < 2.0
    assert size(jittered, counter) < 3.0  # 5 ms of clock jitter costs about one byte
    assert size(jittered, percent) < 3.0  # decimals stored as scaled integers
    assert size(jittered, gauge) < 8.5  # random mantissas do not compress


def test_decimal_values_come_back_bit_exact() -> None:
    values = np.array([0.1, 0.2, 0.3, 99.9, 1e-6, 123456.789])
    roundtrip(regular(len(values)), values)
    roundtrip(regular(3), np.array([0.1 + 0.2, 1.0, 2.0]))  # 0.30000000000000004: XOR mode


def test_corrupt_blobs_are_refused() -> None:
    blob = chunks.encode(regular(10), np.arange(10.0))
    with pytest.raises(chunks.ChunkError):
        chunks.decode(blob[:-3])
    with pytest.raises(chunks.ChunkError):
        chunks.decode(b"\x09" + blob[1:])
    with pytest.raises(ValueError, match="at least one sample"):
        chunks.encode(np.empty(0, dtype=np.int64), np.empty(0))
