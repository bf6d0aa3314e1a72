"""The Prometheus source against a real Prometheus scraping real exporters.

Two headless exporters serve different traffic; Prometheus scrapes both every second. What the
source reads must be what was written: totals summed over the two, and the rates, error rates
and quantiles of the traffic written between two scrapes, computed by hand from that traffic
(Prometheus' rules: a rate is the increase over the span of the samples in the window, a
quantile interpolates linearly inside its bucket).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_fleet import (
    NEURAL_TUI,
    endpoint,
    exposition,
    headless_exporters,
    headless_servers,
    static_exporter,
    write_traffic,
)

from neural_tui.remote_models import RemoteModel, RemoteView, TargetStatus
from neural_tui.sources.prometheus import PrometheusSource
from neural_tui.sources.targets import TargetSource

pytestmark = pytest.mark.real_server

WINDOW = 8
"""The source's rate window, in seconds: eight scrapes."""


def models_of(view: RemoteView) -> dict[tuple[str, str], RemoteModel]:
    assert view.problem is None, view.problem
    return {(m.name, m.version): m for m in view.models}


def total_is(expected: float):
    return lambda result: bool(result) and float(result[0]["value"][1]) == expected


def fetch(url: str, **kwargs: float) -> RemoteView:
    (view,) = asyncio.run(PrometheusSource(endpoint(url, timeout=5.0), **kwargs).fetch())
    return view


def sample_span(prometheus_url: str, selector: str, at: float) -> float:
    """Seconds between the first and the last sample of `selector` in the window ending at
    `at`: what Prometheus divides an increase by when the samples cover the window."""
    response = httpx.get(f"{prometheus_url}/api/v1/query",
                         params={"query": f"{selector}[{WINDOW}s]", "time": f"{at:.3f}"},
                         timeout=5.0)
    (series,) = response.json()["data"]["result"]
    times = [float(when) for when, _ in series["values"]]
    return times[-1] - times[0]


def test_the_fleet_read_from_prometheus_is_the_traffic_written(tmp_path: Path,
                                                               start_prometheus):
    one, two = tmp_path / "one", tmp_path / "two"
    write_traffic(one, "fraud", "1.0", [20.0] * 300, errors=10)
    write_traffic(one, "churn", "1.0", [3.0] * 50)
    write_traffic(two, "fraud", "1.0", [20.0] * 200)
    write_traffic(two, "fraud", "2.0", [30.0] * 40)
    with headless_exporters([one, two], tmp_path) as (a, b):
        prometheus = start_prometheus([a, b])
        prometheus.wait_for("sum(neural_predictions_total)", total_is(310 + 50 + 200 + 40))
        series_since = time.time()
        # The window of the rates must start after both series exist and before the new
        # traffic: write it a few scrapes later, and read once the window is past the start.
        time.sleep(2.5)
        write_traffic(one, "fraud", "1.0", [20.0] * 60 + [200.0] * 40, errors=10)
        write_traffic(two, "fraud", "2.0", [30.0] * 30 + [60.0] * 10)
        prometheus.wait_for("sum(neural_predictions_total)", total_is(710 + 40))
        time.sleep(max(0.0, series_since + WINDOW + 0.5 - time.time()))
        view = fetch(prometheus.url, rate_window_seconds=WINDOW, series_seconds=20)
        span = sample_span(prometheus.url,
                           f'neural_predictions_total{{instance="{a}",model="fraud"}}', view.at)

    models = models_of(view)
    assert sorted(models) == [("churn", "1.0"), ("fraud", "1.0"), ("fraud", "2.0")]
    fraud, fraud2, churn = models["fraud", "1.0"], models["fraud", "2.0"], models["churn", "1.0"]

    # Totals: the records written, summed over both exporters.
    assert (fraud.predictions_total, dict(fraud.errors_total)) == (620, {"timeout": 20})
    assert (fraud2.predictions_total, dict(fraud2.errors_total)) == (80, {})
    assert (churn.predictions_total, dict(churn.errors_total)) == (50, {})
    assert fraud.instance == ", ".join(sorted([a, b]))
    assert (fraud2.instance, churn.instance) == (b, a)

    # The cumulative histogram, summed: 560 at or under 25 ms, 600 at or under 250 ms.
    latency = fraud.latency
    assert latency is not None
    counts = dict(zip(latency.bounds_seconds, latency.cumulative_counts, strict=True))
    assert (counts[0.01], counts[0.025], counts[0.1], counts[0.25], latency.count) == (
        0, 560, 560, 600, 600)
    assert latency.sum_seconds == pytest.approx((560 * 20 + 40 * 200) / 1000)

    # fraud 1.0: 110 new requests on exporter one, 10 of them failed; 60 took 20 ms, 40 took
    # 200 ms. p50: rank 50 of 100 in (10, 25] ms holding 60: 10 + 15 * 50/60 = 22.5 ms;
    # p95: rank 95 in (100, 250] ms holding 40 after 60: 100 + 150 * 35/40 = 231.25 ms;
    # p99: 100 + 150 * 39/40 = 246.25 ms.
    assert fraud.throughput_rps == pytest.approx(110 / span)
    assert fraud.error_rate == pytest.approx(10 / 110)
    assert fraud.latency_p50_ms == pytest.approx(22.5)
    assert fraud.latency_p95_ms == pytest.approx(231.25)
    assert fraud.latency_p99_ms == pytest.approx(246.25)
    assert fraud.window_seconds == WINDOW

    # fraud 2.0: 40 new requests on exporter two, 30 at 30 ms, 10 at 60 ms, no errors.
    # p50: rank 20 of 40 in (25, 50] holding 30: 25 + 25 * 20/30; p95: rank 38 in (50, 75]
    # holding 10 after 30: 50 + 25 * 8/10 = 70; p99: 50 + 25 * 9.6/10 = 74.
    assert fraud2.error_rate == 0.0
    assert fraud2.latency_p50_ms == pytest.approx(25 + 25 * 20 / 30)
    assert fraud2.latency_p95_ms == pytest.approx(70.0)
    assert fraud2.latency_p99_ms == pytest.approx(74.0)

    # churn wrote nothing in the window: no traffic, so no error rate and no quantiles.
    assert churn.throughput_rps == 0.0
    assert (churn.error_rate, churn.latency_p50_ms, churn.latency_p99_ms) == (None, None, None)

    # The sparklines: one point a second over the last 20 s, the new traffic in the newest.
    for model in (fraud, fraud2, churn):
        assert len(model.throughput_series) == len(model.error_rate_series) == 21
        assert len(model.latency_p95_series) == 21
    assert fraud.throughput_series[-1] > 0
    assert fraud.error_rate_series[-1] == pytest.approx(10 / 110)
    assert fraud.latency_p95_series[-1] == pytest.approx(231.25)
    assert set(churn.throughput_series) == {0.0}


def escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


HOSTILE = 'we"ird\\name\n{model="x"}'

FIGURES_A = [
    'neural_predictions_total{model="fraud",version="1.0"} 10',
    f'neural_predictions_total{{model="{escaped(HOSTILE)}",version="1"}} 3',
    'neural_drift_score{model="fraud",version="1.0",drift_type="distribution"} 0.25',
    'neural_drift_score{model="fraud",version="1.0",drift_type="concept"} 0.5',
    'neural_feature_drift{model="fraud",version="1.0",feature="amount",test="ks"} 0.31',
    'neural_feature_drifted{model="fraud",version="1.0",feature="amount",test="ks"} 1',
    'neural_feature_drift_threshold{model="fraud",version="1.0",feature="amount",test="ks"} 0.2',
    'neural_feature_drift{model="fraud",version="1.0",feature="country",test="chi2"} 9.2',
    'neural_feature_drift_p_value{model="fraud",version="1.0",feature="amount",test="ks"} 0.01',
    'neural_data_quality_score{model="fraud",version="1.0"} 0.9',
    'neural_missing_values_rate{model="fraud",version="1.0"} 0.01',
    'neural_outlier_rate{model="fraud",version="1.0"} 0.02',
    'neural_model_accuracy{model="fraud",version="1.0"} 0.93',
    'neural_model_f1{model="fraud",version="1.0"} 0.8',
    'neural_slo_compliance{slo="availability",model="fraud",version="1.0"} 0.999',
    'neural_slo_error_budget_remaining{slo="availability",model="fraud",version="1.0"} 0.5',
    'neural_slo_burn_rate{slo="availability",model="fraud",version="1.0",window="1h"} 2',
    'neural_slo_burn_rate{slo="availability",model="fraud",version="1.0",window="5m"} 1.5',
    'neural_alerts_firing{rule="drift",severity="warning",model="fraud"} 1',
    'neural_alerts_firing{rule="latency",severity="critical",model="fraud"} 0',
]
FIGURES_B = [
    'neural_predictions_total{model="fraud",version="1.0"} 5',
    'neural_drift_score{model="fraud",version="1.0",drift_type="distribution"} 0.75',
    'neural_feature_drift{model="fraud",version="1.0",feature="amount",test="ks"} 0.12',
    'neural_feature_drifted{model="fraud",version="1.0",feature="country",test="chi2"} 0',
    'neural_feature_drift_threshold{model="fraud",version="1.0",feature="country",test="chi2"}'
    ' 11.07',
    'neural_feature_drift_p_value{model="fraud",version="1.0",feature="amount",test="ks"} 0.002',
    'neural_feature_drift_p_value{model="fraud",version="1.0",feature="country",test="chi2"} 0.3',
    'neural_data_quality_score{model="fraud",version="1.0"} 0.7',
    'neural_missing_values_rate{model="fraud",version="1.0"} 0.05',
    'neural_model_accuracy{model="fraud",version="1.0"} 0.88',
    'neural_model_precision{model="fraud",version="1.0"} 0.6',
    'neural_model_recall{model="fraud",version="1.0"} 0.7',
    'neural_slo_compliance{slo="availability",model="fraud",version="1.0"} 0.99',
    'neural_slo_error_budget_remaining{slo="availability",model="fraud",version="1.0"} -0.2',
    'neural_slo_burn_rate{slo="availability",model="fraud",version="1.0",window="1h"} 6',
    'neural_slo_compliance{slo="latency p95",model="fraud",version="1.0"} 1',
    'neural_alerts_firing{rule="drift",severity="warning",model="fraud"} 1',
]


def test_the_exported_figures_read_as_the_worst_instance(start_prometheus):
    """Gauges of two instances: the highest drift, missing and outlier rate and burn rate,
    the lowest p-value, quality, accuracy, compliance and budget; firing alerts are summed."""
    with static_exporter(exposition(FIGURES_A)) as a, \
            static_exporter(exposition(FIGURES_B)) as b:
        prometheus = start_prometheus([a, b])
        prometheus.wait_for("count(neural_slo_compliance)", total_is(3))
        view = fetch(prometheus.url, series_seconds=10)

    models = models_of(view)
    assert models[HOSTILE, "1"].predictions_total == 3
    fraud = models["fraud", "1.0"]
    assert fraud.predictions_total == 15
    assert dict(fraud.drift_scores) == {"distribution": 0.75, "concept": 0.5}
    figures = fraud.figures
    assert [(f.feature, f.test, f.statistic, f.drifted, f.threshold, f.p_value)
            for f in figures.feature_drift] == [
        ("amount", "ks", 0.31, True, 0.2, 0.002),
        ("country", "chi2", 9.2, False, 11.07, 0.3),
    ]
    assert (figures.quality_score, figures.missing_rate, figures.outlier_rate) == (
        0.7, 0.05, 0.02)
    assert (figures.accuracy, figures.precision, figures.recall, figures.f1) == (
        0.88, 0.6, 0.7, 0.8)
    assert [(s.slo, s.compliance, s.budget_remaining, dict(s.burn_rates))
            for s in figures.slos] == [
        ("availability", 0.99, -0.2, {"1h": 6.0, "5m": 1.5}),
        ("latency p95", 1.0, None, {}),
    ]
    assert dict(figures.alerts_firing) == {("drift", "warning"): 2}
    assert models[HOSTILE, "1"].figures.alerts_firing == {}


def test_prometheus_and_the_targets_agree_with_each_other_and_the_storage(
    tmp_path: Path, start_prometheus
):
    """The same two exporters read twice: through Prometheus (summed over them) and as
    targets (one view each); both say what was written."""
    storage_totals = {("fraud", "1.0"): 130 + 70, ("churn", "1.0"): 45}
    one, two = tmp_path / "one", tmp_path / "two"
    write_traffic(one, "fraud", "1.0", [20.0] * 120, errors=10)
    write_traffic(two, "fraud", "1.0", [200.0] * 70)
    write_traffic(two, "churn", "1.0", [3.0] * 45)
    with headless_exporters([one, two], tmp_path) as (a, b):
        prometheus = start_prometheus([a, b])
        prometheus.wait_for("sum(neural_predictions_total)", total_is(245))
        through_prometheus = models_of(fetch(prometheus.url, series_seconds=10))
        targets = TargetSource([endpoint(f"http://{address}/metrics", name=address)
                                for address in (a, b)])
        target_views = asyncio.run(targets.fetch())

    summed: dict[tuple[str, str], float] = {}
    buckets: dict[tuple[str, str], float] = {}
    errors: dict[tuple[str, str], float] = {}
    for view in target_views:
        assert view.problem is None and all(status.up for status in view.targets)
        for model in view.models:
            key = (model.name, model.version)
            summed[key] = summed.get(key, 0) + model.predictions_total
            errors[key] = errors.get(key, 0) + sum(model.errors_total.values())
            assert model.latency is not None
            buckets[key] = buckets.get(key, 0) + model.latency.count
    assert summed == storage_totals
    assert {key: m.predictions_total for key, m in through_prometheus.items()} == storage_totals
    assert {key: sum(m.errors_total.values()) for key, m in through_prometheus.items()} == \
        errors == {("fraud", "1.0"): 10, ("churn", "1.0"): 0}
    assert {key: m.latency.count for key, m in through_prometheus.items() if m.latency} == \
        buckets == {("fraud", "1.0"): 190, ("churn", "1.0"): 45}


def health(prometheus_url: str, workdir: Path) -> tuple[int, dict]:
    """`neural-tui health --prometheus URL --json`, the real command, without local storage."""
    done = subprocess.run([NEURAL_TUI, "health", "--prometheus", prometheus_url, "--json"],
                          cwd=workdir, capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout)


def exporters_of(view: RemoteView) -> dict[str, TargetStatus]:
    return {status.name: status for status in view.targets}


def test_an_exporter_prometheus_can_no_longer_scrape_is_down_and_fails_health(
    tmp_path: Path, start_prometheus
):
    """Two exporters scraped every second; one is killed: within a few scrapes the source
    has it down (its models gone, stale), the other up, and `health` fails naming it."""
    one, two = tmp_path / "one", tmp_path / "two"
    write_traffic(one, "fraud", "1.0", [20.0] * 10)
    write_traffic(two, "churn", "1.0", [3.0] * 10)
    with headless_servers([one, two], tmp_path) as [(a, _), (b, server_b)]:
        prometheus = start_prometheus([a, b])
        prometheus.wait_for("count(neural_active_models)", total_is(2))
        before = fetch(prometheus.url, series_seconds=10)
        healthy_code, healthy = health(prometheus.url, tmp_path)

        server_b.stop()
        deadline = time.monotonic() + 10.0
        after = fetch(prometheus.url, series_seconds=10)
        while exporters_of(after)[f"neural-tui/{b}"].up and time.monotonic() < deadline:
            time.sleep(0.2)
            after = fetch(prometheus.url, series_seconds=10)
        code, report = health(prometheus.url, tmp_path)

    assert {name: status.up for name, status in exporters_of(before).items()} == {
        f"neural-tui/{a}": True, f"neural-tui/{b}": True}
    assert sorted(m.name for m in before.models) == ["churn", "fraud"]
    assert (healthy_code, healthy["problems"]) == (0, [])

    assert after.problem is None
    assert after.targets == (
        TargetStatus(name=f"neural-tui/{b}", url=b, up=False,
                     detail="Prometheus cannot scrape it (up == 0)", scraped_by="prometheus"),
        TargetStatus(name=f"neural-tui/{a}", url=a, up=True, scraped_by="prometheus"))
    assert [m.name for m in after.models] == ["fraud"]

    assert code == 1
    assert report["problems"] == [f"prometheus exporter neural-tui/{b} down: Prometheus "
                                  "cannot scrape it (up == 0)"]
    assert [(t["target"], t["status"]) for t in report["targets"]] == [
        (f"neural-tui/{b}", "failed"), (f"neural-tui/{a}", "ok")]
