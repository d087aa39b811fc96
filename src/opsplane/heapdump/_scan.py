"""numba kernels that walk HPROF records without building Python objects.

Every read is bounds-checked by hand: numba does not check indices, and a corrupt
dump must give an error code, never a segfault. Kernels report problems through a
small ``state`` array (see the ``S_*`` slots) that the caller turns into a
:class:`~opsplane.heapdump.errors.HeapDumpError`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# HPROF top-level tags
TAG_STRING = 0x01
TAG_LOAD_CLASS = 0x02
TAG_FRAME = 0x04
TAG_TRACE = 0x05
TAG_HEAP_DUMP = 0x0C
TAG_HEAP_DUMP_SEGMENT = 0x1C
TAG_HEAP_DUMP_END = 0x2C

# heap-dump sub-record kinds stored in obj_kind
KIND_INSTANCE = 0
KIND_OBJ_ARRAY = 1
KIND_PRIM_ARRAY = 2
KIND_CLASS = 3

# state slots shared by the heap walkers
S_OBJECTS = 0
S_ROOTS = 1
S_ERROR = 2
S_ERR_OFFSET = 3
S_ERR_TAG = 4
S_ANDROID = 5
S_COMPRESSED = 6
S_PREV_ARRAY = 7
S_PREV_ARRAY_END = 8
STATE_SLOTS = 9

ERR_TRUNCATED = 1
ERR_UNKNOWN_TAG = 2
ERR_BAD_TYPE = 3
ERR_BAD_LENGTH = 4

# byte size of each HPROF basic type; 0 marks an invalid type, -1 an identifier
TYPE_SIZE = np.array([0, 0, -1, 0, 1, 2, 4, 8, 1, 2, 4, 8], dtype=np.int64)


@njit(cache=True, inline="always")
def read_u4(buf, p):  # type: ignore[no-untyped-def]
    return (
        (np.int64(buf[p]) << 24)
        | (np.int64(buf[p + 1]) << 16)
        | (np.int64(buf[p + 2]) << 8)
        | np.int64(buf[p + 3])
    )


@njit(cache=True, inline="always")
def read_id(buf, p, id_size):  # type: ignore[no-untyped-def]
    v = np.int64(0)
    for k in range(id_size):
        v = (v << 8) | np.int64(buf[p + k])
    return v


@njit(cache=True)
def scan_top(buf, start, tags, offsets, lengths):  # type: ignore[no-untyped-def]
    """Walk top-level records from ``start``.

    With empty output arrays it only counts. Returns ``(count, end, status)``: status 0
    means the walk ended exactly at the end of the file, 1 that a record header or
    body runs past it (``end`` is that record's offset).
    """
    n = buf.shape[0]
    p = start
    count = 0
    fill = tags.shape[0] > 0
    while p < n:
        if p + 9 > n:
            return count, p, 1
        length = read_u4(buf, p + 5)
        if p + 9 + length > n:
            return count, p, 1
        if fill:
            tags[count] = buf[p]
            offsets[count] = p + 9
            lengths[count] = length
        count += 1
        p += 9 + length
    return count, p, 0


@njit(cache=True)
def _fail(state, code, offset, tag):  # type: ignore[no-untyped-def]
    state[S_ERROR] = code
    state[S_ERR_OFFSET] = offset
    state[S_ERR_TAG] = tag
    return -1


@njit(cache=True)
def _skip_class_dump(buf, p, end, id_size, type_size):  # type: ignore[no-untyped-def]
    """Return the offset after a CLASS_DUMP body starting at ``p`` (after the tag),
    -1 on overrun, -2 on a bad basic type."""
    p += 7 * id_size + 8
    if p + 2 > end:
        return -1
    ncp = (np.int64(buf[p]) << 8) | buf[p + 1]
    p += 2
    for _ in range(ncp):
        if p + 3 > end:
            return -1
        t = buf[p + 2]
        if t >= 12 or type_size[t] == 0:
            return -2
        s = type_size[t]
        p += 3 + (id_size if s < 0 else s)
    for pass_ in range(2):
        if p + 2 > end:
            return -1
        cnt = (np.int64(buf[p]) << 8) | buf[p + 1]
        p += 2
        for _ in range(cnt):
            if p + id_size + 1 > end:
                return -1
            t = buf[p + id_size]
            if t >= 12 or type_size[t] == 0:
                return -2
            p += id_size + 1
            if pass_ == 0:
                s = type_size[t]
                p += id_size if s < 0 else s
    if p > end:
        return -1
    return p


@njit(cache=True)
def _root_size(tag, id_size):  # type: ignore[no-untyped-def]
    """Body size of root and Android sub-records; 0 for other tags."""
    if tag == 0xFF or tag == 0x05 or tag == 0x07:
        return id_size
    if tag == 0x01:
        return 2 * id_size
    if tag == 0x02 or tag == 0x03 or tag == 0x08:
        return id_size + 8
    if tag == 0x04 or tag == 0x06:
        return id_size + 4
    return 0


@njit(cache=True)
def _android_size(tag, id_size):  # type: ignore[no-untyped-def]
    if 0x89 <= tag <= 0x8D or tag == 0x90:
        return id_size
    if tag == 0x8E:
        return id_size + 8
    if tag == 0xC3:
        return id_size + 9
    if tag == 0xFE:
        return id_size + 4
    return 0


@njit(cache=True)
def scan_heap(  # type: ignore[no-untyped-def]
    buf,
    seg_off,
    seg_len,
    id_size,
    state,
    fill,
    o_id,
    o_off,
    o_kind,
    o_cls,
    o_len,
    r_id,
    r_kind,
    r_thread,
    r_extra,
):
    """Walk the sub-records of the given heap-dump segments.

    One long function on purpose: it is the hottest loop of the analyzer, and splitting
    it into per-tag helpers measured six times slower (numba passes every output array
    to each call).

    Counts (``fill`` false) or fills objects and roots, continuing at the cursors in
    ``state``. Also applies MAT's compressed-oops test: an object array that starts
    inside the uncompressed extent of the previous one implies 4-byte references.
    """
    type_size = TYPE_SIZE
    no = state[S_OBJECTS]
    nr = state[S_ROOTS]
    for s in range(seg_off.shape[0]):
        p = seg_off[s]
        end = p + seg_len[s]
        while p < end:
            tag = buf[p]
            q = p + 1
            rs = _root_size(tag, id_size)
            if rs > 0:
                if q + rs > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                if fill:
                    r_id[nr] = read_id(buf, q, id_size)
                    r_kind[nr] = tag
                    r_thread[nr] = -1
                    r_extra[nr] = -1
                    if tag == 0x02 or tag == 0x03 or tag == 0x04 or tag == 0x08 or tag == 0x06:
                        r_thread[nr] = read_u4(buf, q + id_size)
                    if tag == 0x08 or tag == 0x02 or tag == 0x03:
                        r_extra[nr] = read_u4(buf, q + id_size + 4)
                nr += 1
                p = q + rs
                continue
            if tag == 0x21:  # INSTANCE_DUMP
                if q + 2 * id_size + 8 > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                nbytes = read_u4(buf, q + 2 * id_size + 4)
                nxt = q + 2 * id_size + 8 + nbytes
                if nxt > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                if fill:
                    o_id[no] = read_id(buf, q, id_size)
                    o_off[no] = p
                    o_kind[no] = KIND_INSTANCE
                    o_cls[no] = read_id(buf, q + id_size + 4, id_size)
                    o_len[no] = nbytes
                no += 1
                p = nxt
            elif tag == 0x22:  # OBJ_ARRAY_DUMP
                if q + 2 * id_size + 8 > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                length = read_u4(buf, q + id_size + 4)
                nxt = q + 2 * id_size + 8 + length * id_size
                if nxt > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                if fill:
                    oid = read_id(buf, q, id_size)
                    o_id[no] = oid
                    o_off[no] = p
                    o_kind[no] = KIND_OBJ_ARRAY
                    o_cls[no] = read_id(buf, q + id_size + 8, id_size)
                    o_len[no] = length
                    if id_size == 8 and state[S_PREV_ARRAY] < oid < state[S_PREV_ARRAY_END]:
                        state[S_COMPRESSED] = 1
                    state[S_PREV_ARRAY] = oid
                    state[S_PREV_ARRAY_END] = oid + 16 + length * 8
                no += 1
                p = nxt
            elif tag == 0x23:  # PRIMITIVE_ARRAY_DUMP
                if q + id_size + 9 > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                length = read_u4(buf, q + id_size + 4)
                et = buf[q + id_size + 8]
                if et < 4 or et > 11:
                    return _fail(state, ERR_BAD_TYPE, p, tag)
                nxt = q + id_size + 9 + length * type_size[et]
                if nxt > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                if fill:
                    o_id[no] = read_id(buf, q, id_size)
                    o_off[no] = p
                    o_kind[no] = KIND_PRIM_ARRAY
                    o_cls[no] = et
                    o_len[no] = length
                no += 1
                p = nxt
            elif tag == 0x20:  # CLASS_DUMP
                if q + id_size > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                nxt = _skip_class_dump(buf, q, end, id_size, type_size)
                if nxt == -1:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                if nxt == -2:
                    return _fail(state, ERR_BAD_TYPE, p, tag)
                if fill:
                    o_id[no] = read_id(buf, q, id_size)
                    o_off[no] = p
                    o_kind[no] = KIND_CLASS
                    o_cls[no] = 0
                    o_len[no] = nxt - p
                no += 1
                p = nxt
            else:
                a = _android_size(tag, id_size)
                if a == 0:
                    return _fail(state, ERR_UNKNOWN_TAG, p, tag)
                if q + a > end:
                    return _fail(state, ERR_TRUNCATED, p, tag)
                state[S_ANDROID] += 1
                p = q + a
    state[S_OBJECTS] = no
    state[S_ROOTS] = nr
    return 0
