"""Exported rule files and the self-monitoring rules pass a real `promtool`; the Grafana
dashboard's queries parse and name only metrics the server exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import promql_parser
import pytest

from tests.server.alerts.conftest import Api
from tests.support.env import REPO, require_binary

RULES = REPO / "deploy" / "prometheus" / "opsplane-rules.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "opsplane.json"
SELF_TEST = """
rule_files: [{rules}]
evaluation_interval: 30s
tests:
  - interval: 30s
    input_series:
      - series: 'up{{job="opsplane", instance="s1"}}'
        values: '1 0 0 0 0 0'
      - series: >-
          opsplane_alert_notifications_total{{instance="s1",channel_type="email",status="failed"}}
        values: '0+1x40'
    alert_rule_test:
      - eval_time: 2m
        alertname: OpsplaneDown
        exp_alerts:
          - exp_labels: {{severity: critical, job: opsplane, instance: s1}}
            exp_annotations:
              summary: "opsplane server s1 is down"
              description: "Prometheus cannot scrape s1: no API, no agent links, no alerting."
      - eval_time: 15m
        alertname: OpsplaneNotificationsFailing
        exp_alerts:
          - exp_labels: {{severity: critical, instance: s1, channel_type: email}}
            exp_annotations:
              summary: "s1: email notifications are failing after all retries"
"""
VARIED = """
groups:
  - name: varied
    interval: 1m
    rules:
      - alert: Templated
        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.5
        for: 90s
        keep_firing_for: 2m
        labels: {team: "{{ $labels.job }}", severity: page}
        annotations:
          summary: '{{ $labels.job }} errors: {{ $value | humanize }} ({{ printf "%.1f" $value }})'
      - alert: Absent
        expr: absent(up{job="x"})
      - record: job:http_errors:rate5m
        expr: sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))
        labels: {source: opsplane}
"""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def test_self_monitoring_rules_pass_promtool_check_and_unit_tests(tmp_path: Path) -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    test_file = tmp_path / "test.yml"
    test_file.write_text(SELF_TEST.format(rules=json.dumps(str(RULES))))
    tested = promtool("test", "rules", str(test_file))
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_exported_rules_pass_promtool(api: Api, tmp_path: Path) -> None:
    await api.call("POST", "/alerts/rules/import", content=VARIED)
    await api.post("/alerts/rules", {"name": "Simple", "expr": "up == 0", "severity": "info"})
    await api.post(
        "/alerts/rules/threshold",
        {
            "name": "Hot",
            "metric": "host_cpu_percent",
            "nodes": ["a", "b.c"],
            "operator": ">",
            "threshold": 90,
            "clear_threshold": 80,
            "for": "1m",
        },
    )
    exported = await api.get("/alerts/rules/export")
    path = tmp_path / "exported.yml"
    path.write_text(exported)
    checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr + exported
    assert "SUCCESS: 5 rules found" in checked.stdout  # 4 alerting, 1 recording


def _metric_names(text: str) -> set[str]:
    return {
        re.sub(r"_(total|bucket|sum|count)$", "", m)
        for m in re.findall(r"\bopsplane_[a-z_]+", text)
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_dashboard_and_rules_use_exposed_metrics(app_client: httpx.AsyncClient) -> None:
    exposition = (await app_client.get("/metrics")).text
    exposed = _metric_names(
        " ".join(re.findall(r"^# TYPE (opsplane_[a-z_]+) ", exposition, re.MULTILINE))
    )
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 15
    for expr in exprs:
        promql_parser.parse(expr.replace("$__rate_interval", "5m").replace("$instance", ".*"))
    used = _metric_names("\n".join(exprs)) | _metric_names(RULES.read_text())
    assert used - exposed == set()
