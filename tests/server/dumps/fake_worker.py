"""Stands in for `opsplane.server.dumps.worker` in service tests (same arguments, same exit
codes), driven by the dump's first line so each test says what the analysis does:

    LEAK <class>      a report whose first leak suspect is <class>
    CRASH-ONCE <path> abort (SIGABRT) if <path> does not exist yet (and create it), else LEAK
    CRASH             always abort
    BAD               exit 3 (not a heap dump)
    SLEEP <seconds>   sleep, then LEAK
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def report(leak: str) -> dict[str, object]:
    point = {
        "object_id": "0x10",
        "class": "java.lang.Object[]",
        "shallow_bytes": 16,
        "retained_bytes": 900,
        "retained_objects": 10,
    }
    return {
        "summary": {
            "file_bytes": 1000,
            "id_size": 8,
            "objects": 100,
            "classes": 5,
            "gc_roots": 3,
            "heap_bytes": 1000,
        },
        "histogram": [],
        "dominators": [],
        "leak_suspects": [
            {
                "kind": "object",
                "class": leak,
                "instances": 1,
                "retained_bytes": 900,
                "heap_fraction": 0.9,
                "accumulation_point": point,
                "path_to_root": [
                    {
                        "object_id": "0x10",
                        "class": "java.lang.Object[]",
                        "label": "java.lang.Object[]",
                        "referenced_by": "elementData",
                    }
                ],
            }
        ],
        "duplicate_strings": [],
        "collections": [],
        "threads": [],
    }


def main() -> int:
    dump, out = Path(sys.argv[1]), Path(sys.argv[2])
    words = dump.read_bytes().split(b"\n", 1)[0].decode().split()
    command, arg = words[0], (words[1] if len(words) > 1 else "")
    if command == "CRASH":
        os.abort()
    if command == "CRASH-ONCE":
        marker = Path(arg)
        if not marker.exists():
            marker.write_text("crashed once")
            os.abort()
        arg = "com.example.Leak"
    if command == "BAD":
        print("not a valid heap dump: bad magic (offset 0)", file=sys.stderr)
        return 3
    if command == "SLEEP":
        time.sleep(float(arg))
        arg = "com.example.Leak"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report(arg or "com.example.Leak")))
    (out / "report.html").write_text(f"<html><body><h1>Report</h1><p>{arg}</p></body></html>")
    return 0


if __name__ == "__main__":
    sys.exit(main())
