"""What reading a remote `/metrics` body into `RemoteModel`s costs over prometheus-client's parser.

    .venv/bin/python bench/bench_remote_parse.py [--samples N] [--features N] [--rounds N]

Builds our exporter's exposition of a fleet host: models whose drift reports the engines
computed over 50 features (random reference and window), with quality, performance and drift
scores, until the body holds about N samples (default 10,000). Then times, alternating for
`--rounds` rounds (default 7) and keeping the best of each:

- baseline: `list(text_string_to_metric_families(text))`, prometheus-client's parser alone;
- the path under test: `parse_exposition(text)` (the same parser, and the grouping by model)
  and every model's `RemoteModel` with its rates against a previous scrape (`window_rates`,
  `remote_model`), as a target's poll does after its parse.

Prints both times, the samples a second of each and the ratio (target: at most 2x).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.engines.drift import build_reference, detect
from neural_tui.exporter import build_registry
from neural_tui.runtime.snapshot import IngestStats, LatencyHistogram, ModelSnapshot, Snapshot
from neural_tui.sources.exposition import ScrapedModel, parse_exposition
from neural_tui.sources.remote_rates import ModelSeries, remote_model, window_rates


def fleet_host(features: int, models: int) -> str:
    """Our exporter's body for `models` models with a drift report over `features` features."""
    rng = np.random.default_rng(7)
    names = [f"feature_{i:02d}" for i in range(features)]
    reference = build_reference({n: rng.normal(size=2_000) for n in names})
    report = detect(reference, {n: rng.normal(0.1 * (i % 3), size=500)
                                for i, n in enumerate(names)})
    bounds = LatencyHistogram((0,), 0, 0.0).bounds_seconds
    counts = tuple(int(12_000 * (i + 1) / len(bounds)) for i in range(len(bounds)))
    base = ModelSnapshot(
        name="m", version="1", predictions_total=12_000, errors_total={"timeout": 12, "oom": 1},
        latency=LatencyHistogram(counts, 12_000, 240.0), labels_total=3_000,
        labels_joined=2_900, last_record_at=time.time(), window_seconds=300.0,
        throughput_rps=20.0, error_rate=0.001, latency_p50_ms=18.0, latency_p95_ms=42.5,
        latency_p99_ms=80.0, throughput_series=(), error_rate_series=(), latency_p95_series=(),
        drift=report, drift_scores={"distribution": 0.3, "prediction": 0.05},
    )
    snapshot = Snapshot(
        generated_at=time.time(),
        models=tuple(replace(base, name=f"model-{i:03d}", version=f"{i % 3}.0")
                     for i in range(models)),
        ingest=IngestStats(0, {}, (), frozenset()),
        paused=False,
        sources=("bench",),
    )
    return generate_latest(build_registry(lambda: snapshot)).decode()


def sample_count(text: str) -> int:
    return sum(len(family.samples) for family in text_string_to_metric_families(text))


def read_models(text: str, previous: dict[tuple[str, str], ScrapedModel]) -> int:
    """The path under test: the body into `RemoteModel`s with rates; returns how many."""
    scrape = parse_exposition(text)
    built = []
    for key, current in scrape.models.items():
        before = previous.get(key)
        rates = window_rates(before, current, 5.0) if before is not None else None
        series = ModelSeries(60)
        if rates is not None:
            series.add(rates)
        built.append(remote_model(current, rates, 5.0, series, "host"))
    return len(built)


def best_of(rounds: int, *timed: object) -> list[float]:
    best = [float("inf")] * len(timed)
    for _ in range(rounds):
        for i, run in enumerate(timed):
            started = time.perf_counter()
            run()  # type: ignore[operator]
            best[i] = min(best[i], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    fixed = sample_count(fleet_host(args.features, 1))
    per_model = sample_count(fleet_host(args.features, 2)) - fixed
    text = fleet_host(args.features, max(1, round((args.samples - fixed) / per_model) + 1))
    samples = sample_count(text)
    previous = dict(parse_exposition(text).models)
    models = read_models(text, previous)
    baseline, under_test = best_of(args.rounds,
                                   lambda: list(text_string_to_metric_families(text)),
                                   lambda: read_models(text, previous))
    print(f"body: {len(text) / 1024:.0f} KiB, {samples} samples, {models} models "
          f"x {args.features} features")
    print(f"baseline  text_string_to_metric_families: {baseline * 1000:7.1f} ms "
          f"({samples / baseline:,.0f} samples/s)")
    print(f"under test parse_exposition + RemoteModels: {under_test * 1000:7.1f} ms "
          f"({samples / under_test:,.0f} samples/s)")
    print(f"ratio: {under_test / baseline:.2f}x the parser alone (target: at most 2x)")


if __name__ == "__main__":
    main()
