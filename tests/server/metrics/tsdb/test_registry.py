"""Series registry: ids, canonical label sets, postings and Prometheus matcher semantics."""

from __future__ import annotations

import numpy as np

from opsplane.server.metrics.model import LabelMatcher
from opsplane.server.metrics.tsdb.registry import SeriesRegistry


def registry_with(*label_sets: dict[str, str]) -> tuple[SeriesRegistry, list[int]]:
    registry = SeriesRegistry()
    return registry, [registry.get_or_create(labels)[0] for labels in label_sets]


def names(registry: SeriesRegistry, ids: set[int]) -> list[str]:
    return sorted(registry.labels(i).get("job", "-") for i in ids)


def test_same_labels_any_order_same_id_and_empty_values_dropped() -> None:
    registry = SeriesRegistry()
    first, created = registry.get_or_create({"__name__": "up", "job": "a", "x": ""})
    again, created_again = registry.get_or_create({"job": "a", "__name__": "up"})
    assert created
    assert not created_again
    assert first == again
    assert registry.labels(first) == {"__name__": "up", "job": "a"}
    assert registry.unpersisted == [first]
    assert registry.lookup({"job": "a", "__name__": "up"}) == first
    assert registry.lookup({"job": "b", "__name__": "up"}) is None


def test_matchers_follow_prometheus_semantics() -> None:
    registry, _ = registry_with(
        {"__name__": "up", "job": "api", "env": "prod"},
        {"__name__": "up", "job": "db"},
        {"__name__": "up", "job": "web", "env": "dev"},
        {"__name__": "down", "job": "api"},
    )
    up = LabelMatcher("__name__", "=", "up")
    assert names(registry, registry.match([up])) == ["api", "db", "web"]
    assert names(registry, registry.match([up, LabelMatcher("env", "=", "")])) == ["db"]
    assert names(registry, registry.match([up, LabelMatcher("env", "!=", "prod")])) == ["db", "web"]
    assert names(registry, registry.match([up, LabelMatcher("job", "=~", "a.*|w.*")])) == [
        "api",
        "web",
    ]
    # Anchored: "pi" does not match "api".
    assert registry.match([LabelMatcher("job", "=~", "pi")]) == set()
    assert names(registry, registry.match([up, LabelMatcher("env", "!~", "pr.*")])) == ["db", "web"]
    assert names(registry, registry.match([up, LabelMatcher("env", "=~", ".+")])) == ["api", "web"]
    assert names(registry, registry.match([LabelMatcher("env", "=~", ".*")])) == [
        "api",
        "api",
        "db",
        "web",
    ]
    assert registry.match([LabelMatcher("nothere", "=", "x")]) == set()


def test_match_any_unions_groups_and_none_means_all() -> None:
    registry, ids = registry_with({"__name__": "a"}, {"__name__": "b"}, {"__name__": "c"})
    groups = [[LabelMatcher("__name__", "=", "a")], [LabelMatcher("__name__", "=", "c")]]
    assert registry.match_any(groups) == {ids[0], ids[2]}
    assert registry.match_any([]) == set(ids)


def test_remove_cleans_postings() -> None:
    registry, ids = registry_with({"__name__": "a", "job": "x"}, {"__name__": "b", "job": "y"})
    registry.remove({ids[0]})
    assert ids[0] not in registry
    assert registry.label_values("job") == ["y"]
    assert registry.label_names() == ["__name__", "job"]
    assert registry.get_or_create({"__name__": "a", "job": "x"})[0] not in ids


def test_stats_track_first_last_and_latest_value() -> None:
    registry, ids = registry_with({"__name__": "a"}, {"__name__": "b"})
    stats = registry.stats
    sid = np.array([ids[0], ids[0], ids[1], ids[0]], dtype=np.int64)
    stats.observe(sid, np.array([20, 10, 5, 30], dtype=np.int64), np.array([2.0, 1.0, 9.0, 3.0]))
    stats.observe(sid[:1], np.array([25], dtype=np.int64), np.array([7.0]))  # late: not latest
    assert stats.first_ts[ids[0]] == 10
    assert stats.last_ts[ids[0]] == 30
    assert stats.last_value[ids[0]] == 3.0
    assert stats.last_value[ids[1]] == 9.0
    assert registry.in_range(ids, 31, 40) == []
    assert registry.in_range(ids, 0, 6) == [ids[1]]
    assert registry.in_range(ids, 0, 10) == ids


def test_many_series_grow_the_stats_arrays() -> None:
    registry = SeriesRegistry()
    for i in range(3000):
        registry.get_or_create({"__name__": "m", "i": str(i)})
    assert len(registry) == 3000
    assert len(registry.stats.last_ts) >= 3001
