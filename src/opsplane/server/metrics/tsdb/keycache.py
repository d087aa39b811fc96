"""Encoded label bytes -> series id, looked up for a whole request in compiled code.

An open-addressing hash table over numpy arrays: the key bytes live in an arena and every
hit is confirmed byte for byte, so a hash collision can never merge two series. Lookups of
all the series of a body run in one numba call; inserts (new series: rare) run in Python.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from opsplane.server.metrics.tsdb.samples import Int64Array

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_EMPTY = -1


def _hash_bytes(data: bytes) -> np.uint64:
    return np.uint64(_fnv(np.frombuffer(data, dtype=np.uint8), 0, len(data)))


@njit(cache=True, nogil=True)
def _fnv(buf, start, end):  # type: ignore[no-untyped-def]
    value = _FNV_OFFSET
    for i in range(start, end):
        value ^= np.uint64(buf[i])
        value *= _FNV_PRIME
    return value


@njit(cache=True, nogil=True)
def _lookup(buf, spans, slots, hashes, offsets, lengths, ids, arena, out):  # type: ignore[no-untyped-def]
    """Fill `out` with each span's id; returns how many spans were found (all = len)."""
    mask = len(slots) - 1
    for row in range(len(spans)):
        start, end, contiguous = spans[row, 0], spans[row, 1], spans[row, 4]
        if contiguous == 0 or start < 0:
            return row
        value = _fnv(buf, start, end)
        slot = np.int64(value & np.uint64(mask))
        found = -1
        while True:
            entry = slots[slot]
            if entry == _EMPTY:
                break
            if hashes[entry] == value and lengths[entry] == end - start:
                base = offsets[entry]
                same = True
                for i in range(end - start):
                    if arena[base + i] != buf[start + i]:
                        same = False
                        break
                if same:
                    found = ids[entry]
                    break
            slot = (slot + 1) & mask
        if found < 0:
            return row
        out[row] = found
    return len(spans)


class LabelKeyCache:
    def __init__(self, capacity: int = 1 << 12) -> None:
        self._reset(capacity)

    def _reset(self, capacity: int) -> None:
        self.slots: Int64Array = np.full(capacity, _EMPTY, dtype=np.int64)
        self.hashes: npt.NDArray[np.uint64] = np.zeros(capacity // 2, dtype=np.uint64)
        self.offsets: Int64Array = np.zeros(capacity // 2, dtype=np.int64)
        self.lengths: Int64Array = np.zeros(capacity // 2, dtype=np.int64)
        self.ids: Int64Array = np.zeros(capacity // 2, dtype=np.int64)
        self.arena: npt.NDArray[np.uint8] = np.zeros(64 * capacity, dtype=np.uint8)
        self.size = 0
        self.arena_used = 0

    def __len__(self) -> int:
        return self.size

    def clear(self) -> None:
        self._reset(1 << 12)

    def lookup(self, raw: bytes, spans: Int64Array) -> Int64Array | None:
        """Ids for every span (rows of the scan's series table), or None if one is unknown."""
        out = np.empty(len(spans), dtype=np.int64)
        buf = np.frombuffer(raw, dtype=np.uint8)
        found = _lookup(
            buf,
            spans,
            self.slots,
            self.hashes,
            self.offsets,
            self.lengths,
            self.ids,
            self.arena,
            out,
        )
        return out if found == len(spans) else None

    def insert(self, key: bytes, series_id: int) -> None:
        """Map `key` to `series_id` (replacing an old id: a forgotten series came back)."""
        existing = self._find(key)
        if existing >= 0:
            self.ids[existing] = series_id
            return
        if self.size + 1 > len(self.slots) // 2:
            self._grow()
        if self.arena_used + len(key) > len(self.arena):
            self.arena = np.concatenate(
                [self.arena, np.zeros(max(len(self.arena), len(key)), dtype=np.uint8)]
            )
        value = _hash_bytes(key)
        entry = self.size
        self.hashes[entry], self.ids[entry] = value, series_id
        self.offsets[entry], self.lengths[entry] = self.arena_used, len(key)
        self.arena[self.arena_used : self.arena_used + len(key)] = np.frombuffer(key, np.uint8)
        self.arena_used += len(key)
        self.size += 1
        self._place(entry, value)

    def _find(self, key: bytes) -> int:
        value = _hash_bytes(key)
        mask = len(self.slots) - 1
        slot = int(value & np.uint64(mask))
        while (entry := int(self.slots[slot])) != _EMPTY:
            base, length = int(self.offsets[entry]), int(self.lengths[entry])
            if self.hashes[entry] == value and self.arena[base : base + length].tobytes() == key:
                return entry
            slot = (slot + 1) & mask
        return _EMPTY

    def _place(self, entry: int, value: np.uint64) -> None:
        mask = len(self.slots) - 1
        slot = int(value & np.uint64(mask))
        while self.slots[slot] != _EMPTY:
            slot = (slot + 1) & mask
        self.slots[slot] = entry

    def _grow(self) -> None:
        capacity = 2 * len(self.slots)
        self.slots = np.full(capacity, _EMPTY, dtype=np.int64)
        for name in ("hashes", "offsets", "lengths", "ids"):
            old = getattr(self, name)
            grown = np.zeros(capacity // 2, dtype=old.dtype)
            grown[: len(old)] = old
            setattr(self, name, grown)
        for entry in range(self.size):
            self._place(entry, self.hashes[entry])
