"""Top-level HPROF records: where the strings, classes, frames and heap segments are."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from opsplane.heapdump import _scan
from opsplane.heapdump.errors import HeapDumpError
from opsplane.heapdump.source import DumpFile

I64 = npt.NDArray[np.int64]
KNOWN_TAGS = frozenset(
    {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x1C, 0x2C}
)


@dataclass
class TopLevel:
    """Record tags with body offsets and lengths; ``segments`` is the first heap dump."""

    tags: npt.NDArray[np.uint8]
    offsets: I64
    lengths: I64
    segments: tuple[I64, I64]
    warnings: list[str] = field(default_factory=list)

    def of(self, tag: int) -> tuple[I64, I64]:
        sel = self.tags == tag
        return self.offsets[sel], self.lengths[sel]


def read_top_level(dump: DumpFile) -> TopLevel:
    """Index the records; raise on a record cut in half, warn on a dump cut between them."""
    buf, start = dump.buf, dump.records_start
    count, end, status = _scan.scan_top(buf, start, *_empty())
    tags = np.empty(count, np.uint8)
    offsets = np.empty(count, np.int64)
    lengths = np.empty(count, np.int64)
    _scan.scan_top(buf, start, tags, offsets, lengths)
    if status:
        tag = int(buf[end])
        raise HeapDumpError("file truncated inside a record", offset=int(end), tag=tag)
    top = TopLevel(tags, offsets, lengths, _first_dump(tags, offsets, lengths))
    _check_dump_end(top)
    unknown = int(np.count_nonzero(~np.isin(tags, list(KNOWN_TAGS))))
    if unknown:
        top.warnings.append(f"skipped {unknown} records with unknown tags")
    return top


def _empty() -> tuple[npt.NDArray[np.uint8], I64, I64]:
    return np.empty(0, np.uint8), np.empty(0, np.int64), np.empty(0, np.int64)


def _first_dump(tags: npt.NDArray[np.uint8], offsets: I64, lengths: I64) -> tuple[I64, I64]:
    """Segments of the first heap dump: a HEAP_DUMP record, or segments up to an END."""
    heap = np.flatnonzero((tags == _scan.TAG_HEAP_DUMP) | (tags == _scan.TAG_HEAP_DUMP_SEGMENT))
    if heap.shape[0] == 0:
        raise HeapDumpError(
            "no heap dump records in file", offset=int(offsets[0]) - 9 if offsets.shape[0] else 31
        )
    first = int(heap[0])
    if tags[first] == _scan.TAG_HEAP_DUMP:
        sel = np.array([first])
    else:
        ends = np.flatnonzero(tags[first:] == _scan.TAG_HEAP_DUMP_END)
        stop = first + int(ends[0]) if ends.shape[0] else tags.shape[0]
        sel = first + np.flatnonzero(tags[first:stop] == _scan.TAG_HEAP_DUMP_SEGMENT)
    return offsets[sel], lengths[sel]


def _check_dump_end(top: TopLevel) -> None:
    tags = top.tags
    n_dumps = int(np.count_nonzero(tags == _scan.TAG_HEAP_DUMP)) + int(
        np.count_nonzero(tags == _scan.TAG_HEAP_DUMP_END)
    )
    if np.any(tags == _scan.TAG_HEAP_DUMP_SEGMENT) and not np.any(tags == _scan.TAG_HEAP_DUMP_END):
        last = int(top.offsets[-1] + top.lengths[-1])
        top.warnings.append(
            f"dump ends after the heap-dump segment ending at offset {last} without "
            "HEAP DUMP END: the file was probably cut off; analysed the complete segments"
        )
    if n_dumps > 1:
        top.warnings.append(f"file holds {n_dumps} heap dumps; analysed the first")
