"""Deterministic samples and a PromQL corpus for the differential test against Prometheus.

The samples cover what PromQL semantics hinge on: counters with resets, gauges (negative,
large, NaN and Inf values), classic histograms, series that go stale (staleness markers)
and come back, gaps longer than the lookback, jittered scrape times, and several label sets
per metric. All lie in the 40 minutes before `end_ms`, in order per series, so a fresh
Prometheus head accepts them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from opsplane.server.metrics.model import STALE_NAN
from opsplane.server.metrics.remote_write import TimeSeries, WriteRequest

WINDOW_MS = 40 * 60_000
SCRAPE_MS = 15_000


@dataclass(frozen=True)
class Dataset:
    end_ms: int
    request: WriteRequest

    @property
    def start_ms(self) -> int:
        return self.end_ms - WINDOW_MS


def _times(rng: random.Random, start: int, end: int, jitter: int = 0) -> list[int]:
    times, t = [], start
    while t <= end:
        times.append(t + (rng.randint(-jitter, jitter) if jitter else 0))
        t += SCRAPE_MS
    return times


def _counter(rng: random.Random, times: list[int], rate: float, resets: int) -> list[float]:
    reset_at = set(rng.sample(range(5, len(times)), resets))
    value, out = rng.uniform(0, 50), []
    for i in range(len(times)):
        value = rng.uniform(0, 3) if i in reset_at else value + rng.uniform(0, rate)
        out.append(round(value, 3))
    return out


def _series(labels: dict[str, str], times: list[int], values: list[float]) -> TimeSeries:
    return TimeSeries.of(labels, zip(times, values, strict=True))


def _http_requests(rng: random.Random, start: int, end: int) -> list[TimeSeries]:
    out = []
    for instance in ("a", "b", "c"):
        for method in ("get", "post"):
            for code in ("200", "500"):
                times = _times(rng, start, end, jitter=300 if instance == "c" else 0)
                rate = 20.0 if code == "200" else 2.0
                labels = {"__name__": "http_requests_total", "job": "api",
                          "instance": instance, "method": method, "code": code}  # fmt: skip
                out.append(_series(labels, times, _counter(rng, times, rate, resets=2)))
    return out


def _gauges(rng: random.Random, start: int, end: int) -> list[TimeSeries]:
    out = []
    for instance, zone in (("a", "eu"), ("b", "eu"), ("c", "us"), ("d", "us")):
        times = _times(rng, start, end)
        value, values = rng.uniform(-10, 40), []
        for _ in times:
            value += rng.uniform(-2, 2)
            values.append(round(value, 2))
        labels = {"__name__": "node_temperature_celsius", "instance": instance, "zone": zone}
        out.append(_series(labels, times, values))
        memory = [float(rng.randint(1, 64) * 2**30 + rng.randint(0, 2**20)) for _ in times]
        out.append(_series({"__name__": "node_memory_bytes", "instance": instance, "zone": zone},
                           times, memory))  # fmt: skip
    return out


def _odd_values(rng: random.Random, start: int, end: int) -> list[TimeSeries]:
    """A gauge with NaN and +/-Inf among ordinary values (not staleness markers)."""
    times = _times(rng, start, end)
    values = []
    for i in range(len(times)):
        special = {7: math.nan, 19: math.inf, 33: -math.inf, 60: math.nan}.get(i % 80)
        values.append(special if special is not None else round(rng.uniform(-5, 5), 2))
    return [_series({"__name__": "odd_gauge", "instance": "x"}, times, values)]


def _staleness(rng: random.Random, start: int, end: int) -> list[TimeSeries]:
    """`up` series: one goes stale mid-window and returns, one has a 10-minute gap."""
    out = []
    for instance in ("a", "b", "c", "d"):
        times = _times(rng, start, end)
        values: list[float] = [1.0] * len(times)
        if instance == "b":
            stale_from, back_at = len(times) // 3, 2 * len(times) // 3
            values[stale_from] = STALE_NAN
            keep = [i for i in range(len(times)) if not stale_from < i < back_at]
            times, values = [times[i] for i in keep], [values[i] for i in keep]
        if instance == "c":
            gap = range(len(times) // 2, len(times) // 2 + 40)
            times = [t for i, t in enumerate(times) if i not in gap]
            values = values[: len(times)]
        if instance == "d":
            values[-8] = STALE_NAN
            times, values = times[:-7], values[:-7]
        out.append(_series({"__name__": "up", "job": "node", "instance": instance}, times, values))
    return out


BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")


def _histograms(rng: random.Random, start: int, end: int) -> list[TimeSeries]:
    out = []
    for instance in ("a", "b"):
        times = _times(rng, start, end)
        counts = [0.0] * len(BUCKETS)
        per_bucket: list[list[float]] = [[] for _ in BUCKETS]
        total_sum, sums = 0.0, []
        for i in range(len(times)):
            if i == len(times) // 2 and instance == "b":
                counts = [0.0] * len(BUCKETS)  # a process restart resets every bucket
                total_sum = 0.0
            for _ in range(rng.randint(0, 30)):
                latency = rng.expovariate(2.0)
                total_sum += latency
                for b, bound in enumerate(BUCKETS):
                    if latency <= float(bound):
                        counts[b] += 1
            for b in range(len(BUCKETS)):
                per_bucket[b].append(counts[b])
            sums.append(round(total_sum, 6))
        base = {"job": "api", "instance": instance}
        for b, bound in enumerate(BUCKETS):
            labels = {"__name__": "request_duration_seconds_bucket", "le": bound, **base}
            out.append(_series(labels, times, per_bucket[b]))
        out.append(_series({"__name__": "request_duration_seconds_sum", **base}, times, sums))
        out.append(_series({"__name__": "request_duration_seconds_count", **base}, times,
                           per_bucket[-1]))  # fmt: skip
    return out


def _info(start: int, end: int) -> list[TimeSeries]:
    """An info-style metric for group_left joins."""
    times = _times(random.Random(0), start, end)
    out = []
    for instance, version in (("a", "1.2"), ("b", "1.3"), ("c", "1.3")):
        labels = {"__name__": "build_info", "instance": instance, "version": version}
        out.append(_series(labels, times, [1.0] * len(times)))
    return out


def generate(end_ms: int, seed: int = 42) -> Dataset:
    rng = random.Random(seed)
    start = end_ms - WINDOW_MS
    series = [
        *_http_requests(rng, start, end_ms),
        *_gauges(rng, start, end_ms),
        *_odd_values(rng, start, end_ms),
        *_staleness(rng, start, end_ms),
        *_histograms(rng, start, end_ms),
        *_info(start, end_ms),
    ]
    return Dataset(end_ms, WriteRequest(series))


# --- the corpus ------------------------------------------------------------------------------
# Each expression runs as an instant query at several times and, when its type allows, as a
# range query. `{mid}` is replaced by a unix time in the middle of the data (for `@`).

SELECTORS = [
    "http_requests_total",
    'http_requests_total{instance="a"}',
    'http_requests_total{instance!="a", code="500"}',
    'http_requests_total{method=~"g.*"}',
    'http_requests_total{method!~"g.*", instance=~"a|c"}',
    '{__name__=~"node_.*", zone="eu"}',
    'up{instance=~".+"}',
    "up",
    "http_requests_total offset 5m",
    "node_temperature_celsius offset -2m",
    "node_temperature_celsius @ {mid}",
    "node_temperature_celsius @ start()",
    "node_temperature_celsius @ end() offset 1m",
    "odd_gauge",
    'request_duration_seconds_bucket{le="+Inf"}',
]

RANGE_VECTORS = [
    "http_requests_total[2m]",
    'up{instance="b"}[10m]',
    "node_temperature_celsius[1m] offset 3m",
    "node_temperature_celsius[1m] @ {mid}",
    "rate(http_requests_total[5m])[5m:1m]",
    "node_temperature_celsius[3m:45s]",
]

FUNCTIONS = [
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[1m])",
    "rate(http_requests_total[5m] offset 10m)",
    "rate(http_requests_total[5m] @ {mid})",
    "increase(http_requests_total[10m])",
    "irate(http_requests_total[2m])",
    "delta(node_temperature_celsius[5m])",
    "idelta(node_temperature_celsius[2m])",
    "deriv(node_temperature_celsius[5m])",
    "predict_linear(node_temperature_celsius[10m], 600)",
    "resets(http_requests_total[20m])",
    "changes(up[30m])",
    "changes(node_temperature_celsius[5m])",
    "avg_over_time(node_temperature_celsius[5m])",
    "sum_over_time(node_temperature_celsius[5m])",
    "min_over_time(node_temperature_celsius[5m])",
    "max_over_time(node_temperature_celsius[5m])",
    "count_over_time(up[10m])",
    "last_over_time(up[10m])",
    "present_over_time(up[10m])",
    "stddev_over_time(node_temperature_celsius[10m])",
    "stdvar_over_time(node_temperature_celsius[10m])",
    "quantile_over_time(0.9, node_temperature_celsius[10m])",
    "quantile_over_time(0.5, odd_gauge[10m])",
    "max_over_time(odd_gauge[10m])",
    "min_over_time(odd_gauge[10m])",
    "sum_over_time(odd_gauge[3m])",
    'absent_over_time(up{instance="b"}[1m])',
    'absent_over_time(nonexistent{job="x"}[5m])',
    "holt_winters(node_temperature_celsius[10m], 0.5, 0.3)",
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.99, sum by (le, instance) "
    "(increase(request_duration_seconds_bucket[10m])))",
    "histogram_quantile(0, request_duration_seconds_bucket)",
    "histogram_quantile(1.5, request_duration_seconds_bucket)",
    "histogram_quantile(-1, request_duration_seconds_bucket)",
    "abs(node_temperature_celsius)",
    "ceil(node_temperature_celsius)",
    "floor(node_temperature_celsius)",
    "round(node_temperature_celsius)",
    "round(node_temperature_celsius, 5)",
    "round(node_temperature_celsius, 0.3)",
    "clamp(node_temperature_celsius, 0, 20)",
    "clamp(node_temperature_celsius, 20, 0)",
    "clamp_min(node_temperature_celsius, 5)",
    "clamp_max(node_temperature_celsius, 5)",
    "exp(node_temperature_celsius / 10)",
    "ln(node_memory_bytes)",
    "log2(node_memory_bytes)",
    "log10(node_temperature_celsius)",
    "sqrt(node_temperature_celsius)",
    "sgn(node_temperature_celsius)",
    "abs(odd_gauge)",
    "time()",
    "vector(time())",
    "vector(1)",
    "scalar(sum(up))",
    'scalar(up{instance="a"})',
    "scalar(up)",
    "timestamp(node_temperature_celsius)",
    "timestamp(sum(up))",
    'label_replace(up, "host", "$1-x", "instance", "(.*)")',
    'label_replace(up, "host", "$1x", "instance", "(.*)")',
    'label_replace(up, "instance", "", "instance", "a")',
    'label_replace(up, "host", "${1}_$2", "instance", "(.)(.*)")',
    'label_join(node_temperature_celsius, "where", "/", "zone", "instance")',
    'label_join(up, "foo", ",", "job", "missing", "instance")',
    "sort(node_temperature_celsius)",
    "sort_desc(node_temperature_celsius)",
    'absent(up{instance="b"})',
    'absent(nonexistent{job="x", instance=~"a.*"})',
    "absent(nonexistent)",
    "day_of_week()",
    "hour(vector(1700000000))",
    "days_in_month(vector(1709251200))",
    "year(node_temperature_celsius)",
    "minute()",
    "pi()",
]

AGGREGATIONS = [
    "sum(http_requests_total)",
    "sum by (instance) (rate(http_requests_total[5m]))",
    "sum without (method, code) (rate(http_requests_total[5m]))",
    "avg by (zone) (node_temperature_celsius)",
    "min by (zone) (node_temperature_celsius)",
    "max(node_temperature_celsius)",
    "count(up)",
    "count by (job) (up)",
    "stddev(node_temperature_celsius)",
    "stdvar by (zone) (node_temperature_celsius)",
    "group by (zone) (node_temperature_celsius)",
    "quantile(0.5, node_temperature_celsius)",
    "quantile by (code) (0.9, rate(http_requests_total[5m]))",
    'count_values("value", up)',
    'count_values by (zone) ("t", ceil(node_temperature_celsius / 10))',
    "topk(2, node_temperature_celsius)",
    "bottomk(2, node_temperature_celsius)",
    "topk by (zone) (1, node_temperature_celsius)",
    "topk(3, rate(http_requests_total[5m]))",
    'sum by (__name__) ({__name__=~"node_.*"})',
    "sum(odd_gauge)",
    "max(odd_gauge)",
    "avg(odd_gauge)",
    "sum by () (up)",
    "sum without () (up)",
    "count without (instance) (up)",
]

BINARY = [
    "http_requests_total + 1",
    "2 * node_temperature_celsius",
    "node_temperature_celsius / 0",
    "node_temperature_celsius % 7",
    "-node_temperature_celsius % 7",
    "node_temperature_celsius ^ 2",
    "2 ^ 3 ^ 2",
    "node_temperature_celsius > 20",
    "20 < node_temperature_celsius",
    "node_temperature_celsius > bool 20",
    "1 > bool 2",
    "(1 + 2) * 3 - 4 / 8",
    "node_temperature_celsius != 0",
    "node_memory_bytes / on(instance, zone) node_temperature_celsius",
    "node_memory_bytes / node_temperature_celsius",
    "node_memory_bytes > on(instance) node_temperature_celsius",
    "rate(http_requests_total[5m]) / ignoring(code) group_left sum without (code) "
    "(rate(http_requests_total[5m]))",
    "up * on(instance) group_left(version) build_info",
    "build_info * on(instance) group_right(job) up",
    "up == on(instance) group_left build_info",
    "up and build_info",
    "up and on(instance) build_info",
    "up or node_temperature_celsius",
    "up or on(instance) build_info",
    "up unless on(instance) build_info",
    "node_temperature_celsius unless node_temperature_celsius > 20",
    "node_temperature_celsius atan2 node_temperature_celsius",
    "-up",
    "- - node_temperature_celsius",
    "sum(rate(http_requests_total[5m])) by (code) / ignoring(code) group_left "
    "sum(rate(http_requests_total[5m]))",
    "node_temperature_celsius == bool on(instance, zone) node_temperature_celsius",
    "odd_gauge > 0",
    "odd_gauge + 1",
    "vector(1) + vector(2)",
    "up + on() group_left vector(1)",
]

SUBQUERIES = [
    "max_over_time(rate(http_requests_total[1m])[5m:30s])",
    "min_over_time(node_temperature_celsius[10m:1m])",
    "avg_over_time(sum(up)[10m:])",
    "max_over_time(deriv(node_temperature_celsius[2m])[5m:1m] offset 2m)",
    "rate(http_requests_total[5m:1m])",
    "last_over_time(node_temperature_celsius[5m:1m] @ {mid})",
    "sum_over_time(up[10m:2m] @ end())",
    "count_over_time((node_temperature_celsius > 20)[10m:1m])",
]

ERRORS = [
    "node_memory_bytes + on(zone) node_temperature_celsius",
    "node_memory_bytes + on(zone) group_left node_temperature_celsius",
    'label_replace(up, "instance", "same", "instance", ".*")',
    "rate(up[5m]) + on() up",
    "sum(",
    "rate(up)",
    "up[5m] + 1",
    "holt_winters(up[5m], 1.5, 0.5)",
    '{__name__=~"node_.*"} + 1 > {__name__=~"node_.*"}',
    '-{__name__=~"node_.*"}',
    'rate({__name__=~"node_.*"}[5m])',
]

COMBINATIONS = [
    "node_temperature_celsius - scalar(avg(node_temperature_celsius))",
    'sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))',
    "count(count by (zone) (node_temperature_celsius))",
    "http_requests_total offset 1h",
    "timestamp(node_temperature_celsius offset 1m)",
    "timestamp(up @ {mid})",
    "day_of_month(timestamp(up))",
    "predict_linear(node_temperature_celsius[10m] @ {mid}, 3600)",
    "rate(http_requests_total[5m:30s] offset 1m)",
    "avg_over_time(node_temperature_celsius[30m:5m] @ start())",
    "max_over_time(up[2m] offset 10m)",
    "deriv(odd_gauge[5m])",
    "rate(odd_gauge[5m])",
    "changes(odd_gauge[10m])",
    "stdvar(odd_gauge)",
    "quantile(0.5, odd_gauge)",
    "bottomk(1, odd_gauge)",
    "round(node_temperature_celsius, 0)",
    'label_replace(up, "__name__", "renamed_$1", "instance", "(.*)")',
    "up * on(instance) group_left build_info",
    'count_values without (instance) ("v", up)',
    "absent(up)",
    "vector(1) unless on() absent(up)",
    "histogram_quantile(0.75, sum without (instance) (rate(request_duration_seconds_bucket[5m])))",
    "request_duration_seconds_sum / request_duration_seconds_count",
    "increase(request_duration_seconds_count[15m])",
    "clamp(node_temperature_celsius, scalar(min(node_temperature_celsius)), 20)",
    "topk(scalar(count(up)) - 2, node_temperature_celsius)",
    "sum_over_time(rate(http_requests_total[1m])[10m:1m] offset 5m)",
    "node_temperature_celsius > 100 or vector(0)",
]

EDGES = [
    'count_values("x", odd_gauge)',
    "quantile(2, node_temperature_celsius)",
    "topk(0, node_temperature_celsius)",
    "topk(2.9, node_temperature_celsius)",
    "absent_over_time(up[5m:1m])",
    "rate(http_requests_total[1m] @ end())",
    "minute(odd_gauge)",
    "year(odd_gauge)",
    "timestamp(timestamp(up))",
    "node_temperature_celsius % -3",
    "node_temperature_celsius ^ 0.5",
    "-odd_gauge",
    "ln(vector(-1))",
    "round(vector(-2.5))",
    "histogram_quantile(0.5, vector(1))",
    "holt_winters(node_temperature_celsius[5m:1m], 0.1, 0.9)",
    "deriv(up[5m])",
    "avg_over_time(odd_gauge[5m])",
    "stddev_over_time(odd_gauge[5m])",
    'count_values("le", request_duration_seconds_bucket)',
    "http_requests_total > on(instance, method, code) group_right node_temperature_celsius",
    "max(node_temperature_celsius) by (zone) == on(zone) group_left node_temperature_celsius",
    "odd_gauge != odd_gauge",
    "increase(odd_gauge[10m])",
    "irate(odd_gauge[1m])",
    "bottomk(2, odd_gauge or node_temperature_celsius)",
    "quantile(0.3, odd_gauge or node_temperature_celsius)",
]
"""Non-finite values, odd parameters and unusual matching."""

CORPUS = (
    COMBINATIONS
    + EDGES
    + SELECTORS
    + RANGE_VECTORS
    + FUNCTIONS
    + AGGREGATIONS
    + BINARY
    + SUBQUERIES
    + ERRORS
)
ORDERED = ("sort(", "sort_desc(")
"""Queries whose instant result order is part of the answer."""
