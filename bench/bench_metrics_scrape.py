"""What one scrape of the headless `/metrics` costs, against prometheus-client alone.

    .venv/bin/python bench/bench_metrics_scrape.py [--models N] [--features N] [--scrapes N]

Builds one snapshot of N models (default 20) with F features each (default 50): a drift
report from the real engine (half numeric features, half categorical, some drifted), a
quality report, performance figures, three SLOs with their burn rates, and two firing alerts
per model on the alerts collector, as the headless process registers it. Then, alternating in
rounds so that a burst of load on a shared machine hits every side, it times:

- baseline, in process: prometheus-client's `generate_latest` over a registry of plain Gauges
  holding as many samples as the real scrape;
- in process: the headless registry's own text (`ExporterRegistry.exposition`: the snapshot
  families through `metrics_text`, the rest through prometheus-client), and prometheus-client's
  `generate_latest` over that same registry (what the server used before);
- baseline, over HTTP: prometheus-client's own `start_http_server` serving those Gauges, one
  GET per scrape on a fresh connection, as Prometheus asks (`Accept-Encoding: gzip`);
- the path under test: `MetricsServer` (the headless server) over the snapshot, the same GET.

Prints the samples per scrape, then p50 and p99 in ms of each side with its median CPU time
(every thread of the process: client and server), and the ratios of the HTTP scrapes (target:
the headless p99 well under 50 ms).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from prometheus_client import CollectorRegistry, Gauge, generate_latest, start_http_server
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.alerts.metrics import AlertsCollector
from neural_tui.alerts.notification import Alert
from neural_tui.alerts.view import AlertEntry, AlertsView
from neural_tui.engines.drift import DriftReport, DriftSettings, build_reference, detect
from neural_tui.engines.performance import performance
from neural_tui.engines.quality import QualityReport, build_quality_reference, check
from neural_tui.engines.slo import SLOSpec, SLOStatus
from neural_tui.exporter import ExporterRegistry
from neural_tui.metrics_server import MetricsServer
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    ModelSnapshot,
    Snapshot,
)

ROWS = 1_000
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")
HEADERS = {"Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
           "Accept-Encoding": "gzip"}
"""What Prometheus 2 sends with each scrape."""


def columns(features: int, rng: np.random.Generator, shift: float) -> dict[str, np.ndarray]:
    """Half numeric features (every fourth shifted by `shift`), half categorical."""
    out: dict[str, np.ndarray] = {}
    for i in range(features):
        if i % 2 == 0:
            moved = shift if i % 4 == 0 else 0.0
            out[f"num_{i:02d}"] = rng.normal(moved, 1.0, ROWS)
        else:
            out[f"cat_{i:02d}"] = rng.choice(np.array(["a", "b", "c", "d"], dtype=object), ROWS)
    return out


def drift_and_quality(features: int) -> tuple[DriftReport, QualityReport]:
    rng = np.random.default_rng(3)
    reference, current = columns(features, rng, 0.0), columns(features, rng, 1.0)
    settings = DriftSettings(small_reference_rows=0)
    drift = detect(build_reference(reference, settings), current, settings)
    quality = check(build_quality_reference(reference), current)
    return drift, quality


def slo_statuses(model: str, at: float) -> tuple[SLOStatus, ...]:
    specs = (SLOSpec("available", "availability", 0.999, 30 * 86_400),
             SLOSpec("fast", "latency", 0.99, 30 * 86_400, threshold_ms=250.0),
             SLOSpec("few-errors", "error_rate", 0.01, 7 * 86_400))
    return tuple(SLOStatus(spec=spec, model=model, at=at, good=9_990, total=10_000, sli=0.999,
                           compliance=0.999, error_budget_remaining=0.4,
                           burn_rates={w: 0.6 for w in BURN_WINDOWS},
                           time_to_exhaustion_seconds=86_400.0, breaches=(), alerts=())
                 for spec in specs)


def fleet_snapshot(models: int, features: int) -> Snapshot:
    drift, quality = drift_and_quality(features)
    now = time.time()
    base = ModelSnapshot(
        name="m", version="1.0", predictions_total=120_000, errors_total={"timeout": 40},
        latency=LatencyHistogram(tuple(range(100, 100 * (len(LATENCY_BUCKETS_SECONDS) + 1),
                                             100)), 120_000, 2_400.0),
        labels_total=30_000, labels_joined=29_000, last_record_at=now, window_seconds=60.0,
        throughput_rps=20.0, error_rate=0.001, latency_p50_ms=0.2, latency_p95_ms=0.25,
        latency_p99_ms=1.0, throughput_series=(20.0,) * 60, error_rate_series=(0.0,) * 60,
        latency_p95_series=(0.25,) * 60, drift=drift, quality=quality,
        performance=performance(np.array([1, 0, 1, 1] * 250), np.array([1, 0, 0, 1] * 250)),
        drift_scores=drift.scores(), drifted=drift.dataset_drift, labels_correct=26_000)
    return Snapshot(
        generated_at=now,
        models=tuple(replace(base, name=f"model-{i:02d}", slos=slo_statuses(f"model-{i:02d}", now))
                     for i in range(models)),
        ingest=IngestStats(models * 120_000, {"not_json": 3}),
    )


def firing_alerts(models: int) -> AlertsView:
    entries = tuple(
        AlertEntry(Alert(labels={"alertname": name, "severity": "warning",
                                 "model": f"model-{i:02d}"},
                         annotations={"summary": "bench"}, status="firing", starts_at=0.0),
                   state="firing", since=0.0)
        for i in range(models) for name in ("drift", "slow"))
    return AlertsView(generated_at=time.time(), current=entries)


def sample_count(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def gauge_registry(samples: int) -> CollectorRegistry:
    """`samples` plain Gauge series, in families of up to 1,000 like the real exposition."""
    registry = CollectorRegistry()
    labels = ("model", "version", "feature", "test")
    for family in range((samples + 999) // 1000):
        gauge = Gauge(f"bench_gauge_{family}", "A plain gauge.", labels, registry=registry)
        for i in range(min(1000, samples - family * 1000)):
            gauge.labels(f"model-{i // 50:02d}", "1.0", f"f{i % 50}", "ks").set(i * 0.001)
    return registry


def get(port: int) -> bytes:
    """One scrape on a fresh connection, as Prometheus makes it; the decoded body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/metrics", headers=HEADERS)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET /metrics answered {response.status}")
        gzipped = response.getheader("Content-Encoding") == "gzip"
        return gzip.decompress(body) if gzipped else body
    finally:
        connection.close()


def timed_ms(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds of `action`; CPU counts every thread of this process (the
    servers' included), which a loaded machine moves less than the wall time."""
    started, cpu = time.perf_counter(), time.process_time()
    action()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def quantile(values: list[float], q: float) -> float:
    return float(np.quantile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--scrapes", type=int, default=300)
    args = parser.parse_args()

    snapshot = fleet_snapshot(args.models, args.features)
    view = firing_alerts(args.models)
    with MetricsServer(lambda: snapshot) as server:
        server.registry.register(AlertsCollector(lambda: view))
        port = server.port
        text = get(port).decode()
        samples = sample_count(text)
        registry = gauge_registry(samples)
        baseline_server, baseline_thread = start_http_server(0, "127.0.0.1", registry)
        baseline_port = int(baseline_server.server_address[1])
        baseline_samples = sample_count(get(baseline_port).decode())
        print(f"{args.models} models x {args.features} features: {samples:,} samples, "
              f"{len(text):,} bytes per scrape; baseline: {baseline_samples:,} gauge samples")
        headless = server.registry
        assert isinstance(headless, ExporterRegistry)
        sides: dict[str, Callable[[], object]] = {
            "generate_latest": lambda: generate_latest(registry),
            "headless text": headless.exposition,
            "headless via client": lambda: generate_latest(headless),
            "client HTTP": lambda: get(baseline_port),
            "headless HTTP": lambda: get(port),
        }
        wall: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        for _ in range(args.scrapes):
            for name, action in sides.items():
                wall_ms, cpu_ms = timed_ms(action)
                wall[name].append(wall_ms)
                cpu[name].append(cpu_ms)
        baseline_server.shutdown()
        baseline_thread.join()

    for name in sides:
        print(f"{name + ':':<21} p50 {statistics.median(wall[name]):7.2f} ms   "
              f"p99 {quantile(wall[name], 0.99):7.2f} ms   "
              f"CPU median {statistics.median(cpu[name]):7.2f} ms")
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        ratio = quantile(wall["headless HTTP"], q) / quantile(wall["client HTTP"], q)
        print(f"headless / prometheus-client HTTP, {label}: {ratio:.2f}x")
    ratio = statistics.median(cpu["headless HTTP"]) / statistics.median(cpu["client HTTP"])
    print(f"headless / prometheus-client HTTP, CPU median: {ratio:.2f}x")
    ratio = statistics.median(wall["headless text"]) / statistics.median(wall["generate_latest"])
    print(f"headless text / generate_latest of as many gauges, p50: {ratio:.2f}x")


if __name__ == "__main__":
    main()
