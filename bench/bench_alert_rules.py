"""What one alert evaluation costs in the event loop, against a hand-written floor.

    .venv/bin/python bench/bench_alert_rules.py [--models N] [--rules N] [--rounds N]

Builds one snapshot of N models (a few of them slow) and N rules like the built-in ones, then
times per snapshot:

- baseline: the same comparisons written as Python lambdas over the same model fields, in a
  loop over models and rules (what evaluation can at best cost);
- `AlertEngine.on_snapshot`: parse-tree evaluation, the lifecycle step, the groups' flush, the
  view published and the state-save check (writes go to a thread and are not timed).

and prints microseconds per snapshot for each and the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from neural_tui.alerts.engine import AlertEngine
from neural_tui.config import AlertRuleSection, AlertsSection, Duration, Settings
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    ModelSnapshot,
    Snapshot,
)

CONDITIONS = [
    ("p95_latency_ms > 500", lambda m: m.latency_p95_ms is not None and m.latency_p95_ms > 500),
    ("error_rate > 0.05 and throughput_rps > 0.1",
     lambda m: m.error_rate > 0.05 and m.throughput_rps > 0.1),
    ("p99_latency_ms > 2000 or error_rate > 0.5",
     lambda m: (m.latency_p99_ms is not None and m.latency_p99_ms > 2000) or m.error_rate > 0.5),
    ("not (throughput_rps >= 1)", lambda m: not m.throughput_rps >= 1),
]


def models(count: int) -> tuple[ModelSnapshot, ...]:
    """`count` models of steady traffic, every tenth slow (so its latency rule holds)."""
    base = ModelSnapshot(
        name="m", version="1", predictions_total=12_000, errors_total={},
        latency=LatencyHistogram((12_000,) * len(LATENCY_BUCKETS_SECONDS), 12_000, 240.0),
        labels_total=3_000,
        labels_joined=2_900, last_record_at=time.time(), window_seconds=300.0,
        throughput_rps=20.0, error_rate=0.0, latency_p50_ms=18.0, latency_p95_ms=42.5,
        latency_p99_ms=80.0, throughput_series=(20.0,) * 60, error_rate_series=(0.0,) * 60,
        latency_p95_series=(40.0,) * 60,
    )
    return tuple(replace(base, name=f"model-{i:04d}",
                         latency_p95_ms=900.0 if i % 10 == 0 else 40.0)
                 for i in range(count))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--rules", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    chosen = [CONDITIONS[i % len(CONDITIONS)] for i in range(args.rules)]
    rules = tuple(AlertRuleSection(name=f"rule-{i}", when=text, for_=Duration(60))
                  for i, (text, _) in enumerate(chosen))
    snapshot_models = models(args.models)

    start = time.perf_counter()
    held = 0
    for _ in range(args.rounds):
        for model in snapshot_models:
            for _, check in chosen:
                held += check(model)
    baseline = (time.perf_counter() - start) / args.rounds

    with tempfile.TemporaryDirectory() as tmp:
        engine = AlertEngine(Settings(alerts=AlertsSection(rules=rules)), Path(tmp))
        engine.load()
        start = time.perf_counter()
        for round_index in range(args.rounds):
            engine.on_snapshot(Snapshot(generated_at=1e9 + round_index, models=snapshot_models,
                                        ingest=IngestStats(0, {})))
        measured = (time.perf_counter() - start) / args.rounds
        engine.close()

    print(f"{args.models} models x {args.rules} rules, {held // args.rounds} holding")
    print(f"baseline (lambdas): {baseline * 1e6:10.1f} us per snapshot")
    print(f"AlertEngine:        {measured * 1e6:10.1f} us per snapshot")
    print(f"ratio:              {measured / baseline:10.1f}x")


if __name__ == "__main__":
    main()
