"""A real Prometheus scrapes a real `neural-tui --serve-metrics` and loads the example rules of
`deploy/prometheus/`: sub-millisecond latencies read right through `histogram_quantile`, every
example rule evaluates without error, and the feature-drift alert goes off on drifted traffic.

Prometheus loads `alerts.yml` as shipped and a copy without its `for:` durations (group
`immediate`), so that an alert shows firing within the test as well as pending.

One exporter serves the module: model `fast` logged 400 predictions before it started. The
first 200 are the drift reference, with `x` drawn from N(0, 1); the last 200 (the drift
window) have `x` from N(3, 1); `y` is the same sequence in both. 80 of the 400 answered in
0.05 ms and 320 in 0.24 ms (every fifth record is fast).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from realservers import Prometheus, headless_server, require_binary

from neural_tui import ModelMonitor

pytestmark = pytest.mark.real_server

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"
RECORDS = 400
FAST_SHARE = 5

CONFIG = """
[runtime]
cadence_seconds = 0.2
poll_interval_seconds = 0.05

[analysis]
interval_seconds = 0.5
every_records = 100

[drift]
window = 200
reference_rows = 200
"""


@dataclass(frozen=True)
class Live:
    prometheus: Prometheus
    metrics_url: str


def write_records(storage: Path) -> None:
    rng = np.random.default_rng(7)
    with ModelMonitor("fast", "1.0", storage_path=storage) as monitor:
        for i in range(RECORDS):
            shift = 3.0 if i >= RECORDS // 2 else 0.0
            features = {"x": float(rng.normal(shift, 1.0)), "y": float(i % 50)}
            latency = 0.05 if i % FAST_SHARE == 0 else 0.24
            monitor.log_prediction(f"p{i}", features, 1, latency_ms=latency)


def shipped_rules() -> dict[str, Any]:
    rules: dict[str, Any] = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))
    return rules


def immediate_copy(root: Path) -> Path:
    """The shipped rules in a group named `immediate`, each firing as soon as it holds."""
    rules = shipped_rules()
    for group in rules["groups"]:
        group["name"] = "immediate"
        for rule in group["rules"]:
            rule.pop("for", None)
    path = root / "immediate.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    binary = require_binary("prometheus", "apt-get install prometheus")
    root = tmp_path_factory.mktemp("exporter-live")
    config, storage = root / "neural-tui.toml", root / "storage"
    config.write_text(CONFIG, encoding="utf-8")
    write_records(storage)
    exporter, url = headless_server("neural-tui", root, storage, "--config", str(config))
    prometheus_dir = root / "prometheus"
    prometheus_dir.mkdir()
    prometheus = Prometheus(binary, prometheus_dir, [url.removeprefix("http://")],
                            [DEPLOY / "alerts.yml", immediate_copy(root)])
    exporter.start()
    try:
        prometheus.start()
        prometheus.wait_for(f'neural_prediction_latency_seconds_count{{model="fast"}} == {RECORDS}',
                            lambda result: len(result) == 1, timeout=20)
        yield Live(prometheus, url)
    finally:
        prometheus.stop()
        exporter.stop()


def test_a_p95_of_a_quarter_millisecond_reads_as_one_through_histogram_quantile(live):
    # 400 latencies: 80 at 0.05 ms (bucket le=0.0001), 320 at 0.24 ms (le=0.00025). The
    # 0.95 rank is 380, in the second bucket: 0.1 + (0.25 - 0.1) * (380 - 80) / (400 - 80)
    # = 0.240625 ms. With the old first bucket of 5 ms it read 5 * 380 / 400 = 4.75 ms.
    result = live.prometheus.query(
        'histogram_quantile(0.95, neural_prediction_latency_seconds_bucket{model="fast"})')

    assert len(result) == 1
    assert float(result[0]["value"][1]) == pytest.approx(0.000240625, rel=1e-9)


def rules_of(live: Live) -> list[dict[str, Any]]:
    return [rule for group in live.prometheus.get("/api/v1/rules")["groups"]
            for rule in group["rules"]]


def test_every_example_rule_evaluates_without_error(live):
    names = [rule["alert"] for group in shipped_rules()["groups"] for rule in group["rules"]]
    deadline = time.monotonic() + 10
    rules = rules_of(live)
    while (any(rule.get("lastEvaluation", "").startswith("0001") or rule["health"] != "ok"
               for rule in rules) and time.monotonic() < deadline):
        time.sleep(0.2)
        rules = rules_of(live)

    assert sorted((rule["name"], rule["health"], rule.get("lastError", "")) for rule in rules) \
        == sorted((name, "ok", "") for name in names * 2)


def test_the_feature_drift_alert_goes_off_for_the_drifted_feature_only(live):
    def drift_alerts(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [alert for alert in result if alert["labels"]["alertname"] ==
                "NeuralFeatureDrifted"]

    deadline = time.monotonic() + 20
    alerts = drift_alerts(live.prometheus.get("/api/v1/alerts")["alerts"])
    while len(alerts) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        alerts = drift_alerts(live.prometheus.get("/api/v1/alerts")["alerts"])

    # As shipped (`for: 15m`) it stays pending for the test's whole life; the copy fires.
    assert sorted((a["labels"]["model"], a["labels"]["feature"], a["labels"]["test"],
                   a["state"]) for a in alerts) == [("fast", "x", "ks", "firing"),
                                                    ("fast", "x", "ks", "pending")]
    verdicts = live.prometheus.query('neural_feature_drifted{model="fast"}')
    assert {series["metric"]["feature"]: series["value"][1] for series in verdicts} == {
        "x": "1", "y": "0"}


def test_promtool_accepts_the_example_config_and_rules_and_their_unit_tests_pass():
    promtool = require_binary("promtool", "apt-get install prometheus")
    for argv in (["check", "config", "prometheus.yml"], ["check", "rules", "alerts.yml"],
                 ["test", "rules", "alerts.test.yml"]):
        result = subprocess.run([promtool, *argv], cwd=DEPLOY, capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
