"""Benchmark the heap-dump analyzer on a ~1 GB dump made by a real JVM.

Prints throughput (MB/s) of histogram-only and full analysis, peak RSS of the
analysing process, and the time of ``jmap -histo`` on the live JVM for reference
(median and p99 over the repeats, and the ratio against jmap). Never fails on time;
it does check that the planted leak is the first leak suspect.

    .venv/bin/python bench/heapdump.py [--scale 1.0] [--repeat 3] [--regen] [--no-jmap]

The dump is cached in bench/out/ (gitignored); --regen makes a new one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
JAVA = r"""
import java.util.*;

public class BenchHeap {
    static class LeakRecord {
        long id; String key; byte[] payload;
        LeakRecord(long id, String key, byte[] payload) {
            this.id = id; this.key = key; this.payload = payload;
        }
    }
    /** The planted leak: a static cache that is never evicted. */
    static class LeakyCache { static final Map<Long, LeakRecord> CACHE = new HashMap<>(); }
    static class Order {
        long id; int qty; double price; String customer; Order next; Object[] tags;
    }

    static int n(double scale, int base) { return Math.max(1, (int) (base * scale)); }

    public static void main(String[] args) throws Exception {
        double scale = Double.parseDouble(args[0]);
        Random rnd = new Random(42);
        for (long i = 0; i < n(scale, 300_000); i++) {
            LeakyCache.CACHE.put(i, new LeakRecord(i, "session-" + i, new byte[1700]));
        }
        start("orders", () -> orders(scale));
        start("tables", () -> tables(scale, rnd));
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static void start(String name, Runnable body) throws InterruptedException {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        while (t.getState() != Thread.State.TIMED_WAITING) Thread.sleep(10);
    }

    static void park(Object... held) {
        try { Thread.sleep(Long.MAX_VALUE); } catch (InterruptedException e) { }
        System.out.println(held.length);
    }

    static void orders(double scale) {
        String[] names = new String[2000];
        for (int i = 0; i < names.length; i++) names[i] = "customer-" + i;
        List<Order> heads = new ArrayList<>();
        Order prev = null;
        for (int i = 0; i < n(scale, 600_000); i++) {
            Order o = new Order();
            o.id = i; o.qty = i % 7; o.price = i * 0.5;
            o.customer = new String(names[i % names.length]);  // duplicates on purpose
            o.tags = new Object[2];
            if (i % 100 == 0) { heads.add(o); } else { prev.next = o; }
            prev = o;
        }
        park(heads);
    }

    static void tables(double scale, Random rnd) {
        Map<String, int[]> table = new HashMap<>();
        for (int i = 0; i < n(scale, 100_000); i++) table.put("k" + i, new int[64]);
        List<Integer> ints = new ArrayList<>();
        for (int i = 0; i < n(scale, 300_000); i++) ints.add(rnd.nextInt());
        List<long[]> blocks = new ArrayList<>();
        for (int i = 0; i < n(scale, 7_000); i++) blocks.add(new long[4096]);
        List<Object> empties = new ArrayList<>();
        for (int i = 0; i < n(scale, 50_000); i++) {
            empties.add(i % 2 == 0 ? new ArrayList<String>() : new HashMap<String, String>());
        }
        park(table, ints, blocks, empties);
    }
}
"""


def start_jvm(scale: float) -> subprocess.Popen[str]:
    src = OUT / "BenchHeap.java"
    src.write_text(JAVA)
    subprocess.run(["javac", "-d", str(OUT), str(src)], check=True)
    proc = subprocess.Popen(
        ["java", "-Xmx4g", "-XX:+UseParallelGC", "-cp", str(OUT), "BenchHeap", str(scale)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "READY":
        proc.kill()
        sys.exit("bench JVM did not start")
    return proc


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def child(mode: str, path: str, repeat: str) -> None:
    """Analyse ``repeat + 1`` times in this process; the first run is cold (numba's
    start-up: type registries and cached machine code), the others are warm, as in a
    long-lived worker. Prints the figures as JSON."""
    from opsplane.heapdump import analyze

    times, cpu = [], []
    report = None
    for _ in range(int(repeat) + 1):
        started, cpu_started = time.perf_counter(), time.process_time()
        report = analyze(path, histogram_only=mode == "histogram")
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    assert report is not None
    suspects = [
        {
            "class": s["class"],
            "fraction": s["heap_fraction"],
            "accumulation": s["accumulation_point"]["class"],
            "path": [p["label"] + " " + p.get("referenced_by", "") for p in s["path_to_root"]],
        }
        for s in report.leak_suspects
    ]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {
        "cold": times[0],
        "warm": times[1:],
        "warm_cpu": cpu[1:],
        "peak_rss": peak_kb * 1024,
        "suspects": suspects,
        "objects": report.summary["objects"],
    }
    print(json.dumps(figures))


def run_child(mode: str, path: Path, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.2f} s  p99 {p99:7.2f} s  (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 makes about 1 GB")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--regen", action="store_true", help="make a new dump")
    parser.add_argument("--no-jmap", action="store_true", help="skip the live-JVM reference")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    OUT.mkdir(exist_ok=True)
    dump = OUT / f"bench-{args.scale:g}.hprof"
    need_jvm = args.regen or not dump.exists() or not args.no_jmap
    if need_jvm and shutil.which("jcmd") is None:
        sys.exit("the JDK (java, javac, jcmd, jmap) is needed")
    jmap_times: list[float] = []
    proc = start_jvm(args.scale) if need_jvm else None
    try:
        if proc is not None and (args.regen or not dump.exists()):
            dump.unlink(missing_ok=True)
            took = timed(["jcmd", str(proc.pid), "GC.heap_dump", str(dump)])
            print(f"dump written by jcmd in {took:.1f} s")
        if proc is not None and not args.no_jmap:
            jmap_times = [timed(["jmap", "-histo", str(proc.pid)]) for _ in range(args.repeat)]
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
    report(dump, args.repeat, jmap_times)


def report(dump: Path, repeat: int, jmap_times: list[float]) -> None:
    size_mb = dump.stat().st_size / 1e6
    print(f"dump: {dump} ({size_mb:,.0f} MB)")
    results = {mode: run_child(mode, dump, repeat) for mode in ("histogram", "full")}
    for mode, r in results.items():
        med = statistics.median(r["warm"])
        cpu = statistics.median(r["warm_cpu"])
        rss = r["peak_rss"]
        print(
            f"{mode:>9}: warm {stats(r['warm'])}  {size_mb / med:6.0f} MB/s;  cold first run "
            f"{r['cold']:.2f} s ({size_mb / r['cold']:.0f} MB/s);  peak RSS {rss / 1e6:,.0f} MB "
            f"({rss / (size_mb * 1e6):.2f}x dump)"
        )
        print(
            f"{'':>9}  CPU time of a warm run: median {cpu:.2f} s ({size_mb / cpu:.0f} MB/s per "
            "CPU second; the analysis is single-threaded, so this is the idle-machine figure)"
        )
    print(f"objects in dump: {results['full']['objects']:,}")
    if jmap_times:
        hist = statistics.median(results["histogram"]["warm"])
        print(
            f"jmap -histo (live JVM): {stats(jmap_times)}; our warm histogram / jmap = "
            f"{hist / statistics.median(jmap_times):.2f}x"
        )
    suspects = results["full"]["suspects"]
    print("leak suspects:")
    for s in suspects:
        print(f"  {s['class']} {s['fraction']:.1%} -> accumulation point {s['accumulation']}")
    first = suspects[0] if suspects else None
    # the cache's table accumulates the growth, reached through LeakyCache.CACHE
    planted = (
        first is not None
        and first["accumulation"] == "java.util.HashMap$Node[]"
        and any(p.startswith("java.util.HashMap static CACHE") for p in first["path"])
        and any(p.startswith("class BenchHeap$LeakyCache") for p in first["path"])
    )
    print(f"planted leak (BenchHeap$LeakyCache.CACHE) is the first suspect: {planted}")
    if first is not None:
        print("  path: " + " <- ".join(first["path"]))
    load = os.getloadavg()
    print(
        f"load average during the run: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
        f"on {os.cpu_count()} CPUs (other work on the machine slows every figure)"
    )


if __name__ == "__main__":
    main()
