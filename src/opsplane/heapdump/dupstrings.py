"""Duplicate java.lang.String values and the bytes they waste."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _fields
from opsplane.heapdump.heap import Heap
from opsplane.heapdump.objects import (
    in_file_order,
    instances_of,
    int_field,
    ref_field,
    string_value,
)

I64 = npt.NDArray[np.int64]


def duplicate_strings(heap: Heap, top: int) -> list[dict[str, Any]]:
    """Groups of Strings with equal contents, biggest waste first.

    Waste counts every extra String object plus every extra distinct backing array
    (char[] or byte[] + coder); arrays shared between Strings are counted once.
    """
    ci = heap.classes.find("java.lang.String")
    if ci < 0:
        return []
    strings = instances_of(heap, ci)
    arrays = ref_field(heap, strings, ci, "value")
    if arrays is None or strings.shape[0] == 0:
        return []
    hashes, nbytes = _hash_strings(heap, strings, arrays, ci)
    ok = nbytes >= 0
    strings, arrays, hashes = strings[ok], arrays[ok], hashes[ok]
    order = np.argsort(hashes, kind="stable")
    strings, arrays, hashes = strings[order], arrays[order], hashes[order]
    _, group, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    dup = counts[group] > 1
    if not np.any(dup):
        return []
    return _rank(heap, strings[dup], arrays[dup], group[dup], top)


def _hash_strings(
    heap: Heap, strings: npt.NDArray[np.int32], arrays: npt.NDArray[np.int32], ci: int
) -> tuple[npt.NDArray[np.uint64], I64]:
    n = strings.shape[0]
    coder = int_field(heap, strings, ci, "coder")
    offset = int_field(heap, strings, ci, "offset")
    count = int_field(heap, strings, ci, "count")
    salt = coder if coder is not None else np.zeros(n, np.int64)
    start = offset if offset is not None and count is not None else np.full(n, -1, np.int64)
    cnt = count if offset is not None and count is not None else np.full(n, -1, np.int64)
    both = in_file_order(
        heap,
        arrays,
        lambda pos: _pair(heap, arrays[pos], start[pos], cnt[pos], salt[pos]),
    )
    assert both is not None
    return both[:, 0].view(np.uint64), both[:, 1]


def _pair(heap: Heap, arrays: npt.NDArray[np.int32], start: I64, cnt: I64, salt: I64) -> I64:
    """Hashes (as int64 bits) and byte lengths side by side, for in_file_order."""
    hashes, nbytes = _fields.hash_prim_arrays(
        heap.dump.buf,
        heap.id_size,
        heap.obj_off,
        heap.obj_kind,
        heap.obj_len,
        arrays,
        start,
        cnt,
        salt,
    )
    return np.stack([hashes.view(np.int64), nbytes], axis=1)


def _rank(
    heap: Heap, strings: npt.NDArray[np.int32], arrays: npt.NDArray[np.int32], group: I64, top: int
) -> list[dict[str, Any]]:
    groups, first, counts = np.unique(group, return_index=True, return_counts=True)
    gpos = np.searchsorted(groups, group)
    str_bytes = np.bincount(gpos, weights=heap.shallow[strings]).astype(np.int64)
    # distinct (group, array) pairs as one int64 key: much faster to sort than rows
    width = np.int64(heap.n + 1)
    keys = np.unique(gpos.astype(np.int64) * width + arrays.astype(np.int64))
    pairs = np.stack([keys // width, keys % width])
    arr_bytes = np.bincount(pairs[0], weights=heap.shallow[pairs[1]], minlength=groups.shape[0])
    arr_max = np.zeros(groups.shape[0])
    np.maximum.at(arr_max, pairs[0], heap.shallow[pairs[1]])
    one_string = heap.shallow[strings[first]]
    wasted = (str_bytes - one_string) + (arr_bytes - arr_max).astype(np.int64)
    rows = []
    for g in np.argsort(-wasted, kind="stable")[:top]:
        sample = int(strings[first[g]])
        text = string_value(heap, sample) or ""
        rows.append(
            {
                "value": text,
                "count": int(counts[g]),
                "length": len(text),
                "wasted_bytes": int(wasted[g]),
            }
        )
    return rows
