"""The one exception the analyzer raises for bad input."""

from __future__ import annotations


class HeapDumpError(Exception):
    """A heap dump that is corrupt, truncated or not HPROF at all.

    The message names the file offset and the record tag where parsing stopped, so a
    user can tell a cut-off upload from a damaged file.
    """

    def __init__(self, message: str, *, offset: int | None = None, tag: int | None = None):
        where = []
        if offset is not None:
            where.append(f"offset {offset}")
        if tag is not None:
            where.append(f"record tag 0x{tag:02x}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
        self.offset = offset
        self.tag = tag
