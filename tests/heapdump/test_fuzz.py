"""Mutated real dumps: the analyzer either reports or raises HeapDumpError, quickly."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsplane.heapdump import HeapDumpError, analyze

from .conftest import fixture

SEED = fixture("oracle_jdk8_05_x64.hprof").read_bytes()
HEADER = 31


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(SEED)
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip"] * 5 + ["zero"] * 2 + ["splice", "cut"]))
        if len(data) <= HEADER:
            break
        pos = draw(st.integers(HEADER, len(data) - 1))
        if op == "flip":
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[max(pos, HEADER - 8) :]
        elif op == "splice":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        else:
            data[pos : pos + 8] = bytes(8)
    return bytes(data)


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(mutated())
def test_mutated_dumps_never_crash_or_hang(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.hprof"
        path.write_bytes(data)
        started = time.monotonic()
        with contextlib.suppress(HeapDumpError):  # the one error the analyzer may raise
            analyze(path)
        assert time.monotonic() - started < 10
