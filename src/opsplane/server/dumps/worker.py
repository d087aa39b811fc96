"""One analysis in its own process: `python -m opsplane.server.dumps.worker DUMP OUT_DIR`.

The server starts one of these per analysis (at most `dumps_analysis_concurrency` at once),
so a crash, a runaway allocation or a timeout kills this process, never the server. The
address-space limit (RLIMIT_AS) is set here, before numpy and numba are loaded.

Exit codes: 0 done (report.html and report.json in OUT_DIR), 3 not a valid heap dump,
4 out of memory, 1 anything else; the last stderr line says why.
"""

from __future__ import annotations

import argparse
import resource
import sys

EXIT_BAD_DUMP = 3
EXIT_NO_MEMORY = 4


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsplane-dump-worker")
    parser.add_argument("dump")
    parser.add_argument("out_dir")
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    _limit_memory(args.memory_mb)
    try:
        from opsplane.heapdump import HeapDumpError, analyze, write_report

        try:
            report = analyze(args.dump, top=args.top)
            write_report(report, args.out_dir, formats=("html", "json"))
        except HeapDumpError as exc:
            print(f"not a valid heap dump: {exc}", file=sys.stderr)
            return EXIT_BAD_DUMP
    except MemoryError:
        print(f"out of memory (limit {args.memory_mb} MiB)", file=sys.stderr)
        return EXIT_NO_MEMORY
    return 0


if __name__ == "__main__":
    sys.exit(main())
