"""Scraping local Prometheus endpoints: labels as Prometheus sets them, failures reported."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from opsplane.agent.collectors.scrape import ScrapeCollector, Target

EXPOSITION = b"""# HELP app_requests_total Requests.
# TYPE app_requests_total counter
app_requests_total{code="200",job="inner",instance="x"} 7
app_requests_total{code="500"} 1
# TYPE app_temperature gauge
app_temperature 21.5
"""


class _Handler(BaseHTTPRequestHandler):
    body = EXPOSITION

    def do_GET(self) -> None:
        if self.path != "/metrics":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def by_name(points: list, name: str) -> list:
    return [p for p in points if p.name == name]


def test_target_specs() -> None:
    assert Target.parse("http://h:9100/metrics") == Target("scrape", "http://h:9100/metrics")
    assert Target.parse("node=http://h:9100/metrics") == Target("node", "http://h:9100/metrics")
    assert Target.parse("node=http://h:9100/metrics").instance == "h:9100"
    with pytest.raises(ValueError, match="not an http"):
        Target.parse("ftp://h/metrics")


def test_samples_get_the_targets_job_and_instance(endpoint: str) -> None:
    collector = ScrapeCollector(lambda: (f"app=http://{endpoint}/metrics",))
    try:
        points = collector.collect(1000)
    finally:
        collector.close()
    assert collector.problems() == []
    assert {p.ts_ms for p in points} == {1000}
    requests = {p.labels["code"]: p for p in by_name(points, "app_requests_total")}
    assert requests["200"].value == 7
    assert requests["200"].labels == {
        "code": "200",
        "job": "app",
        "instance": endpoint,
        "exported_job": "inner",
        "exported_instance": "x",
    }
    assert requests["500"].labels == {"code": "500", "job": "app", "instance": endpoint}
    assert by_name(points, "app_temperature")[0].value == 21.5
    assert by_name(points, "up")[0].value == 1.0
    assert by_name(points, "scrape_samples_scraped")[0].value == 3.0


def test_unreachable_and_broken_targets_report_up_0(endpoint: str) -> None:
    collector = ScrapeCollector(
        lambda: (f"http://{endpoint}/nope", "http://127.0.0.1:1/metrics", "not a url"),
        timeout=2,
    )
    try:
        points = collector.collect(5)
    finally:
        collector.close()
    assert [p.value for p in by_name(points, "up")] == [0.0, 0.0]
    problems = collector.problems()
    assert len(problems) == 3
    assert "404" in problems[0]
    assert "not an http(s) URL" in problems[2]


class _Counting(_Handler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if self.path == "/other":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"other_metric 1\n")
            return
        super().do_GET()


def test_threshold_checks_rescrape_only_targets_exposing_watched_series() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    collector = ScrapeCollector(lambda: (f"{base}/metrics", f"{base}/other"))
    watched = frozenset({"app_temperature"})
    try:
        # Before any tick the check scrapes every target once, to learn what each exposes.
        points = collector.sample(watched, 7)
        assert [(p.name, p.value, p.ts_ms) for p in points] == [("app_temperature", 21.5, 7)]
        assert sorted(_Counting.hits) == ["/metrics", "/other"]
        collector.collect(10)
        _Counting.hits.clear()
        assert [p.name for p in collector.sample(watched, 11)] == ["app_temperature"]
        assert [p.name for p in collector.sample(frozenset({"up"}), 12)] == ["up", "up"]
        assert _Counting.hits == ["/metrics", "/metrics", "/other"]
    finally:
        collector.close()
        server.shutdown()
        server.server_close()


def test_a_check_parses_only_the_watched_series_and_gets_the_same_points(endpoint: str) -> None:
    collector = ScrapeCollector(lambda: (f"app=http://{endpoint}/metrics",))
    watched = frozenset({"app_requests_total"})
    try:
        at_tick = {(p.name, tuple(sorted(p.labels.items())), p.value) for p in collector.collect(1)}
        checked = collector.sample(watched, 2)
    finally:
        collector.close()
    assert {(p.name, tuple(sorted(p.labels.items())), p.value) for p in checked} == {
        point for point in at_tick if point[0] in watched
    }
    assert len(checked) == 2
