"""Scraping local Prometheus endpoints (node_exporter, a JMX exporter, an app's /metrics).

Targets come from the server-pushed config (`scrape_targets`), each `URL` or `job=URL`.
Every tick scrapes them all and forwards their samples stamped with the tick's time, like
Prometheus with `honor_labels: false`: the target's `job` and `instance` win, and exposed
labels of those names are kept as `exported_job` / `exported_instance`. Each target also
yields `up`, `scrape_duration_seconds` and `scrape_samples_scraped`, as Prometheus does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from prometheus_client.parser import text_string_to_metric_families

from opsplane.agent.collectors.base import Points
from opsplane.protocol.telemetry import MetricPoint

MAX_BODY_BYTES = 32 << 20
"""An exposition larger than this is refused (a misbehaving target must not eat memory)."""

DEFAULT_JOB = "scrape"


@dataclass(frozen=True, slots=True)
class Target:
    job: str
    url: str

    @property
    def instance(self) -> str:
        parts = urlsplit(self.url)
        return parts.netloc or self.url

    @classmethod
    def parse(cls, spec: str) -> Target:
        """`URL` or `job=URL`; raises ValueError for anything else."""
        job, sep, url = spec.partition("=")
        if not sep or "://" in job:
            job, url = DEFAULT_JOB, spec
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"scrape target {spec!r} is not an http(s) URL")
        return cls(job.strip() or DEFAULT_JOB, url.strip())


def _target_labels(labels: dict[str, str], target: Target) -> dict[str, str]:
    out = dict(labels)
    for name, value in (("job", target.job), ("instance", target.instance)):
        if name in out:
            out[f"exported_{name}"] = out.pop(name)
        out[name] = value
    return out


def only_series(text: str, names: frozenset[str]) -> str:
    """The sample lines of `text` that may belong to `names` (by prefix; comments dropped).

    Without `# TYPE` lines every sample parses as untyped under its own name, which is the
    name it has with them too, so the points of `names` come out the same, for a fraction
    of the parsing.
    """
    prefixes = tuple(names)
    return "\n".join(line for line in text.splitlines() if line.startswith(prefixes)) + "\n"


def parse_exposition(text: str, target: Target, points: Points) -> int:
    """Add every sample of a text exposition to `points`; returns how many."""
    count = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            points.add(
                sample.name, float(sample.value), _target_labels(dict(sample.labels), target)
            )
            count += 1
    return count


class ScrapeCollector:
    """Collector over the config's scrape targets (called in a worker thread)."""

    name = "scrape"

    def __init__(
        self,
        targets: Callable[[], tuple[str, ...]],
        *,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
    ) -> None:
        self._targets = targets
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._problems: list[str] = []
        # Metric names each target exposed at its last tick: a threshold check re-scrapes
        # only the targets that expose what its watches read.
        self._exposes: dict[Target, frozenset[str]] = {}

    def collect(self, ts_ms: int) -> list[MetricPoint]:
        points = Points(ts_ms)
        problems: list[str] = []
        exposes: dict[Target, frozenset[str]] = {}
        for spec in self._targets():
            try:
                target = Target.parse(spec)
            except ValueError as exc:
                problems.append(str(exc))
                continue
            start = len(points.items)
            error = self._scrape(target, points)
            exposes[target] = frozenset(p.name for p in points.items[start:])
            if error:
                problems.append(f"scrape {target.url}: {error}")
        self._problems = problems
        self._exposes = exposes
        return points.items

    def sample(self, names: frozenset[str], ts_ms: int) -> list[MetricPoint]:
        """Between ticks: re-scrape the targets that exposed any of `names` at the last tick
        (and targets not scraped yet, to learn what they expose); return just those series,
        `up` and friends included when watched."""
        points = Points(ts_ms)
        for spec in self._targets():
            try:
                target = Target.parse(spec)
            except ValueError:
                continue  # the ticks report it
            exposed = self._exposes.get(target)
            if exposed is not None and not exposed & names:
                continue
            start = len(points.items)
            # A failure shows as up == 0, as at ticks. A known target is parsed for the
            # watched series only (scrape_samples_scraped then counts those).
            self._scrape(target, points, None if exposed is None else names)
            if exposed is None:
                self._exposes[target] = frozenset(p.name for p in points.items[start:])
        return [p for p in points.items if p.name in names]

    def _scrape(
        self, target: Target, points: Points, only: frozenset[str] | None = None
    ) -> str | None:
        started = time.perf_counter()
        labels = {"job": target.job, "instance": target.instance}
        scraped, error = 0, None
        try:
            text = self._fetch(target.url)
            if only is not None:
                text = only_series(text, only)
            scraped = parse_exposition(text, target, points)
        except (httpx.HTTPError, ValueError) as exc:
            error = str(exc) or type(exc).__name__
        points.add("up", 0.0 if error else 1.0, labels)
        points.add("scrape_duration_seconds", time.perf_counter() - started, labels)
        points.add("scrape_samples_scraped", float(scraped), labels)
        return error

    def _fetch(self, url: str) -> str:
        with self._client.stream("GET", url, headers={"Accept": "text/plain"}) as response:
            response.raise_for_status()
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise ValueError(f"exposition larger than {MAX_BODY_BYTES >> 20} MiB")
        return body.decode("utf-8", errors="replace")

    def problems(self) -> list[str]:
        return list(self._problems)

    def close(self) -> None:
        self._client.close()
