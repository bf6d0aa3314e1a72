"""What one round of the Prometheus source costs once the answers are in, against `json.loads`.

    .venv/bin/python bench/bench_prometheus_round.py [--models N] [--features N] [--rounds N]

Builds the answers Prometheus would give one round for N models of F features (every query of
`prometheus_queries`: totals, 20 histogram buckets, errors, rates, quantiles, drift, the three
per-feature drift metrics, quality, SLOs, alerts, and 60-point sparklines), as JSON bodies, then
times, best of the rounds:

- baseline: `json.loads` of every body (the least any reader must do);
- the source's work: every body parsed and checked (`prometheus_api`) and folded into
  `RemoteModel`s (`prometheus.build_models`).

and prints the bytes, both times and the ratio. The fold runs in a worker thread in the
source, so this is CPU taken, not event-loop time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from neural_tui.sources import prometheus_queries as q
from neural_tui.sources.prometheus import build_models, series_grid
from neural_tui.sources.prometheus_api import MAX_BODY_BYTES, parse_matrix, parse_vector

AT = 1_700_000_000.0
BUCKETS = ["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
           "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5", "7.5", "10", "+Inf"]


def vector(series: list[tuple[dict[str, str], float]]) -> bytes:
    result = [{"metric": labels, "value": [AT, repr(value)]} for labels, value in series]
    return json.dumps({"status": "success",
                       "data": {"resultType": "vector", "result": result}}).encode()


def matrix(series: list[dict[str, str]], points: int) -> bytes:
    values = [[AT - 5 * (points - 1 - i), repr(0.5 + i / points)] for i in range(points)]
    result = [{"metric": labels, "values": values} for labels in series]
    return json.dumps({"status": "success",
                       "data": {"resultType": "matrix", "result": result}}).encode()


def round_bodies(models: int, features: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    keys = [{"model": f"model-{m:04d}", "version": "1.0"} for m in range(models)]

    def named(name: str, labels: dict[str, str]) -> dict[str, str]:
        return {"__name__": name, **labels}

    per_feature = [({**k, "feature": f"feature_{f:02d}", "test": "ks"}, f / 100)
                   for k in keys for f in range(features)]
    instant = {
        q.TOTALS: vector([(named(n, k), 1000.0) for k in keys
                          for n in (q.PREDICTIONS, q.LATENCY_COUNT, q.LATENCY_SUM)]),
        q.INSTANCES: vector([({**k, "instance": f"host-{i}:9108"}, 1.0)
                             for k in keys for i in range(3)]),
        q.ERRORS_BY_TYPE: vector([({**k, "error_type": "timeout"}, 7.0) for k in keys]),
        q.BUCKETS: vector([({**k, "le": le}, 10.0 * i) for k in keys
                           for i, le in enumerate(BUCKETS)]),
        **{name: vector([(k, 0.25) for k in keys])
           for name in (q.THROUGHPUT, q.ERROR_RATE, *q.QUANTILES)},
        q.DRIFT: vector([({**k, "drift_type": t}, 0.1) for k in keys
                         for t in ("distribution", "prediction", "concept", "performance")]),
        q.FEATURES: vector([(named(n, labels), value) for labels, value in per_feature
                            for n in (q.FEATURE_DRIFT, q.FEATURE_DRIFTED,
                                      q.FEATURE_DRIFT_THRESHOLD)]),
        q.HIGHEST: vector([(named(n, k), 0.01) for k in keys
                           for n in (q.MISSING_RATE, q.OUTLIER_RATE)]),
        q.LOWEST: vector([(named(n, k), 0.9) for k in keys
                          for n in (q.QUALITY_SCORE, q.ACCURACY, q.PRECISION, q.RECALL, q.F1)]),
        q.SLOS: vector([(named(n, {**k, "slo": "availability"}), 0.99) for k in keys
                        for n in (q.SLO_COMPLIANCE, q.SLO_BUDGET)]),
        q.BURN_RATES: vector([({**k, "slo": "availability", "window": w}, 1.0) for k in keys
                              for w in ("5m", "1h")]),
        q.ALERTS: vector([({"model": k["model"], "rule": "drift", "severity": "warning"}, 1.0)
                          for k in keys]),
    }
    ranged = {name: matrix(keys, 60) for name in q.SERIES_QUERIES}
    return instant, ranged


def best(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    instant, ranged = round_bodies(args.models, args.features)
    bodies = [*instant.values(), *ranged.values()]
    grid = series_grid(AT, 300, 5)

    def baseline() -> None:
        for body in bodies:
            json.loads(body)

    def source() -> int:
        answers = {name: parse_vector(body, 200) for name, body in instant.items()}
        series = {name: parse_matrix(body, 200) for name, body in ranged.items()}
        return len(build_models(answers, series, grid, 60.0).models)

    assert source() == args.models
    largest = max(len(body) for body in bodies)
    print(f"{args.models} models x {args.features} features: {len(bodies)} answers, "
          f"{sum(map(len, bodies)) / 2**20:.1f} MiB (largest {largest / 2**20:.1f} MiB, "
          f"limit {MAX_BODY_BYTES / 2**20:.0f} MiB)")
    base = best(args.rounds, baseline)
    took = best(args.rounds, source)
    print(f"json.loads: {base * 1000:.0f} ms; parse + fold: {took * 1000:.0f} ms; "
          f"ratio {took / base:.2f}x")


if __name__ == "__main__":
    main()
