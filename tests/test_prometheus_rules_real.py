"""The generated rules in a real Prometheus that scrapes a real `neural-tui --serve-metrics`
while live traffic with known fractions arrives: every rule evaluates, the recorded error
ratios are those fractions, the burn rate matches the one the SLO engine exports, and the
alerts fire with the SLO's name unchanged.

One traffic run serves every test of the module (about 15 s): batches of 40 requests of model
`MODEL` with 10 failures (a quarter) and 5 latencies above 300 ms (an eighth), the 30 that
succeed labelled at once (6 of them wrongly), and 10 requests of `churn` that all succeed
fast. The first batch is in before Prometheus starts, so its first scrape already holds a whole
batch and every rate is a ratio of whole batches.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from headless_storage import samples
from realservers import LOOPBACK, Prometheus, RealServer, free_port, require_binary

from neural_tui import ModelLogger

pytestmark = pytest.mark.real_server

NEURAL_TUI = str(Path(sys.executable).with_name("neural-tui"))
MODEL = 'fr"a\\ud {{x}}'
HOSTILE_SLO = 'errors "page" \\ {{ $value }}\nme\x85\u2028\t\x00'
BATCHES = 4
FAILED_SHARE = 10 / 40
SLOW_SHARE = 5 / 40
WRONG_SHARE = 6 / 30
AVAILABLE_BUDGET = 0.1
BURN_TOLERANCE = 0.01
"""Relative. Both sides count the same whole batches, so they should agree to rounding; the
margin allows for a scrape that caught a batch half-read at the window's edge."""

CONFIG = f"""
[runtime]
cadence_seconds = 0.2
poll_interval_seconds = 0.05

[[slo]]
name = "available"
type = "availability"
target = {1 - AVAILABLE_BUDGET}
window = "1h"

[[slo]]
name = {json.dumps(HOSTILE_SLO)}
model = {json.dumps(MODEL)}
type = "error_rate"
target = 0.01
window = "1h"

[[slo]]
name = "fast"
type = "latency"
target = 0.99
threshold_ms = 300
window = "1h"

[[slo]]
name = "accurate"
type = "accuracy"
target = 0.9
window = "7d"

[[slo]]
name = "busy"
type = "throughput"
target = 0.5
min_rps = 1
window = "30d"
"""


@dataclass(frozen=True)
class Live:
    prometheus: Prometheus
    metrics_url: str
    storage: Path
    rule_file: Path


def write_batch(storage: Path, batch: int) -> None:
    with ModelLogger(MODEL, "1.0", storage_path=storage) as monitor:
        for i in range(40):
            latency = 500.0 if i % 8 == 1 else 100.0
            if i % 4 == 0:
                monitor.record_error("timeout", latency_ms=latency)
            else:
                monitor.log_prediction(f"{batch}-{i}", {"x": float(i)}, i % 2,
                                       latency_ms=latency)
                monitor.log_ground_truth(f"{batch}-{i}", 1 - i % 2 if i % 5 == 0 else i % 2)
    with ModelLogger("churn", "1.0", storage_path=storage) as monitor:
        for i in range(10):
            monitor.log_prediction(f"churn-{batch}-{i}", {"x": float(i)}, 0, latency_ms=50.0)


def scraped(url: str) -> dict[Any, float]:
    return samples(httpx.get(f"{url}/metrics", timeout=5).text)


def wait_for_exported_total(url: str, total: int) -> None:
    key = ("neural_predictions_total", (("model", MODEL), ("version", "1.0")))
    for _ in range(200):
        if scraped(url).get(key) == total:
            return
        time.sleep(0.05)
    pytest.fail(f"the exporter never counted {total} predictions of {MODEL!r}")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    binary = require_binary("prometheus", "apt-get install prometheus")
    root = tmp_path_factory.mktemp("rules-live")
    config, storage = root / "neural-tui.toml", root / "storage"
    config.write_text(CONFIG, encoding="utf-8")
    (storage / "predictions").mkdir(parents=True)
    rule_file = root / "slo.rules.yml"
    generated = subprocess.run([NEURAL_TUI, "rules", "--config", str(config)],
                               capture_output=True, text=True, timeout=30, check=True)
    rule_file.write_text(generated.stdout, encoding="utf-8")
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    exporter = RealServer("neural-tui", [NEURAL_TUI, "--serve-metrics", "--config", str(config),
                                         "--storage", str(storage), "--port", str(port)],
                          root, f"{url}/healthz")
    prometheus_dir = root / "prometheus"
    prometheus_dir.mkdir()
    prometheus = Prometheus(binary, prometheus_dir, [f"{LOOPBACK}:{port}"], [rule_file])
    exporter.start()
    try:
        write_batch(storage, 0)
        wait_for_exported_total(url, 40)
        prometheus.start()
        prometheus.wait_for(f"neural_predictions_total{{model={json.dumps(MODEL)}}}",
                            lambda result: len(result) == 1)
        for batch in range(1, BATCHES):
            time.sleep(1.2)
            write_batch(storage, batch)
        wait_for_exported_total(url, 40 * BATCHES)
        prometheus.wait_for(
            f"neural_predictions_total{{model={json.dumps(MODEL)}}} == {40 * BATCHES}",
            lambda result: len(result) == 1)
        yield Live(prometheus, url, storage, rule_file)
    finally:
        prometheus.stop()
        exporter.stop()


def recorded(live: Live, record: str, slo: str, expected: dict[str, float]) -> Any:
    """The recorded series of `slo` by model, once a rule evaluation after the last scrape
    agrees with `expected` on its models (else the last values seen, for the assertion to
    show)."""
    selector = f"{record}{{slo={json.dumps(slo)}}}"

    def by_model(result: list[dict[str, Any]]) -> dict[str, float]:
        return {series["metric"]["model"]: float(series["value"][1]) for series in result}

    def close(result: list[dict[str, Any]]) -> bool:
        values = by_model(result)
        return values.keys() >= expected.keys() and all(
            values[m] == pytest.approx(expected[m], rel=1e-9, abs=1e-12) for m in expected)

    deadline = time.monotonic() + 10
    result = live.prometheus.query(selector)
    while not close(result) and time.monotonic() < deadline:
        time.sleep(0.2)
        result = live.prometheus.query(selector)
    return by_model(result)


def approx(expected: dict[str, float]) -> Any:
    return pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_prometheus_loads_every_generated_rule_and_evaluates_it_without_error(live):
    deadline = time.monotonic() + 10
    while True:
        rules = [rule for group in live.prometheus.get("/api/v1/rules")["groups"]
                 for rule in group["rules"]]
        if all(rule["health"] == "ok" for rule in rules) or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    generated = yaml.safe_load(live.rule_file.read_text(encoding="utf-8"))
    assert len(rules) == sum(len(group["rules"]) for group in generated["groups"])
    assert {(rule["name"], rule["health"], rule.get("lastError", "")) for rule in rules} == {
        (rule["name"], "ok", "") for rule in rules}


def test_the_recorded_error_ratios_are_the_known_fractions_of_the_traffic(live):
    availability = {MODEL: FAILED_SHARE, "churn": 0.0}
    error_rate = {MODEL: FAILED_SHARE}
    latency = {MODEL: SLOW_SHARE, "churn": 0.0}

    assert recorded(live, "slo:sli_error:ratio_rate1h", "available", availability) == approx(
        availability)
    assert recorded(live, "slo:sli_error:ratio_rate6m", HOSTILE_SLO, error_rate) == approx(
        error_rate)
    assert recorded(live, "slo:sli_error:ratio_rate1h", "fast", latency) == approx(latency)


def test_the_accuracy_ratio_is_the_share_of_joined_labels_not_correct(live):
    values = scraped(live.metrics_url)
    key = (("model", MODEL), ("version", "1.0"))
    expected = {MODEL: WRONG_SHARE}

    ratio = recorded(live, "slo:sli_error:ratio_rate7d", "accurate", expected)

    assert values[("neural_labels_joined_total", key)] == 30 * BATCHES
    assert values[("neural_labels_correct_total", key)] == 24 * BATCHES
    assert {MODEL: ratio[MODEL]} == approx(expected)
    assert math.isnan(ratio["churn"])  # no label yet: nothing to judge


def exported_burn_rate(live: Live, slo: str, window: str) -> float:
    """The engine's `neural_slo_burn_rate` from the exporter, once it is published."""
    key = ("neural_slo_burn_rate", tuple(sorted({"slo": slo, "model": MODEL, "version": "1.0",
                                                 "window": window}.items())))
    for _ in range(100):
        value = scraped(live.metrics_url).get(key)
        if value is not None:
            return value
        time.sleep(0.1)
    pytest.fail(f"the exporter published no burn rate of {slo!r} over {window}")


def test_the_burn_rate_prometheus_computes_matches_the_engines_exported_one(live):
    engine = exported_burn_rate(live, "available", "6m")

    ratio = recorded(live, "slo:sli_error:ratio_rate6m", "available",
                     {MODEL: FAILED_SHARE, "churn": 0.0})[MODEL]

    assert engine == pytest.approx(FAILED_SHARE / AVAILABLE_BUDGET, rel=1e-12)
    assert ratio / AVAILABLE_BUDGET == pytest.approx(engine, rel=BURN_TOLERANCE)


def test_the_burn_alerts_fire_for_the_burning_slos_with_their_names_unchanged(live):
    # Burn rates: the hostile SLO 25 (page, above 14.4), fast 12.5 (page, the 6x tier sharing
    # its 1m windows), available 2.5 (ticket), accurate 2 (ticket, over the 7-day SLO's
    # 16h48m and 1h24m).
    expected = {
        (HOSTILE_SLO, MODEL, "page", "1m", "1m"),
        ("available", MODEL, "ticket", "6m", "1m"),
        ("fast", MODEL, "page", "1m", "1m"),
        ("accurate", MODEL, "ticket", "16h48m", "1h24m"),
    }

    deadline = time.monotonic() + 10
    while True:
        firing = {(a["labels"]["slo"], a["labels"]["model"], a["labels"]["severity"],
                   a["labels"]["long_window"], a["labels"]["short_window"])
                  for a in live.prometheus.get("/api/v1/alerts")["alerts"]
                  if a["labels"]["alertname"] == "slo_burn_rate" and a["state"] == "firing"}
        if firing == expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    assert firing == expected
