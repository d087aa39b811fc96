"""Process-wide runtime tuning for the long-running processes holding thousands of links.

CPython's cyclic garbage collector stops the whole process while it runs. With its default
thresholds (700, 10, 10) a server holding thousands of agent links promotes nearly every
in-flight frame into the oldest generation (anything alive across a few hundred allocations
survives the young collections), so full collections of millions of objects come every few
seconds and each stops every link for about a second. Measured by `bench/fleet.py`
(`opsplane_gc_pause_seconds` on /metrics).

`tune_gc` (a) freezes what exists at start (modules, routes, schemas: never garbage) so full
collections skip it, and (b) makes the young generation much larger, so short-lived objects
die young and the old generation grows only with what really lives long. Young collections
then take milliseconds; full ones become rare.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython default: 700)
MIDDLE_THRESHOLD = 20  # young collections between middle ones (default: 10)
OLD_THRESHOLD = 10  # middle collections before a full one may run (default: 10)


def tune_gc() -> None:
    """Call once the process has imported and built what it keeps for its whole life."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
