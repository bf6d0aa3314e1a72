"""Memory of the runtime at full rings and under worst-case records, as resident set size.

    .venv/bin/python bench/bench_memory.py [--models N] [--records N] [--worst N]

Each scenario runs in a fresh child process (so one cannot inherit another's heap) that feeds
`Runtime.ingest` with batches built in memory, runs the engines on every model every
`ANALYSE_EVERY` records as the analysis schedule would, and prints its resident set size
after each fifth of the stream, then the growth over the last four fifths:

- `typical`: `--models` models (default 20) of `--records` predictions each (default 400,000,
  enough to fill every ring, the late-label join's included), each with ten numeric features,
  one categorical feature, two-class probabilities, and a late label for every other one;
- `classes`: one model, `--worst` records (default 60,000) with 1,000-class probabilities;
- `names`: one model, `--worst` records whose five feature names are new in every record;
- `categories`: one model, `--worst` records whose category value is new in every record.

The baseline is the same child's resident size before its first record: the figures are
what the runtime itself holds. They level off once the rings are full: the late-label join's
fills last, at 400,000 predictions per model (run `--worst 300000` to see the worst cases
level off; the issue measured 1.4 GB and 1.9 GB there before memory was bounded in bytes).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from neural_tui.config import Settings, StorageSection
from neural_tui.records import OBJECT, IngestBatch, RecordBatch
from neural_tui.runtime.pipeline import Runtime

BATCH = 5_000
CHUNK_BYTES = 4 << 20
"""A batch holds at most `BATCH` rows and about this many bytes, as the tail source reads."""
ANALYSE_EVERY = 20_000
T0 = 1_700_000_000.0

RowMaker = Callable[[int], tuple[bytes, bytes | None]]
"""Row number -> (`input_features`, `prediction_proba`) as raw JSON."""


def resident_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def objects(values: list[object]) -> np.ndarray:
    column = np.empty(len(values), dtype=OBJECT)
    column[:] = values
    return column


def batch_of(model: str, start: int, n: int, rate: float, make: RowMaker) -> RecordBatch:
    rows = [make(i) for i in range(start, start + n)]
    labelled = np.arange(start, start + n) % 2 == 0
    return RecordBatch(
        timestamp=T0 + np.arange(start, start + n) / rate,
        model=objects([model] * n),
        version=objects(["1"] * n),
        prediction_id=objects([f"{model}-{i}" for i in range(start, start + n)]),
        latency_ms=np.full(n, 12.5),
        error=objects([None] * n),
        is_label=np.zeros(n, dtype=bool),
        prediction=objects([i % 2 for i in range(start, start + n)]),
        ground_truth=objects([i % 2 if late else None
                              for i, late in zip(range(start, start + n), labelled,
                                                 strict=True)]),
        input_features=objects([features for features, _ in rows]),
        prediction_proba=objects([proba for _, proba in rows]),
    )


def typical(i: int) -> tuple[bytes, bytes | None]:
    features = {f"f{k}": (i * 7919 + k * 104729) % 1000 / 10 for k in range(10)}
    features["channel"] = ("web", "app", "store")[i % 3]
    p = (i % 100) / 100
    return json.dumps(features).encode(), json.dumps({"0": 1 - p, "1": p}).encode()


def many_classes(i: int) -> tuple[bytes, bytes | None]:
    shares = {f"class_{k}": ((i + k) % 997) / 1e6 for k in range(1000)}
    return json.dumps({"x": i % 100}).encode(), json.dumps(shares).encode()


def unique_names(i: int) -> tuple[bytes, bytes | None]:
    features = {f"feature_{i}_{k}": float(k) for k in range(5)}
    features["x"] = float(i % 100)
    return json.dumps(features).encode(), None


def unique_categories(i: int) -> tuple[bytes, bytes | None]:
    return json.dumps({"x": float(i % 100), "customer": f"customer-{i:012d}"}).encode(), None


SCENARIOS: dict[str, RowMaker] = {
    "typical": typical,
    "classes": many_classes,
    "names": unique_names,
    "categories": unique_categories,
}


def batches(models: int, records: int, make: RowMaker) -> Iterator[tuple[int, RecordBatch]]:
    """Every model's stream, interleaved a batch at a time; yields (records so far, batch)."""
    fed = 0
    row_bytes = sum(len(blob or b"") for blob in make(0)) + 200
    rows = max(1, min(BATCH, CHUNK_BYTES // row_bytes))
    for start in range(0, records, rows):
        n = min(rows, records - start)
        for model in range(models):
            fed += n
            yield fed, batch_of(f"model-{model:02d}", start, n, rate=100.0, make=make)


def run_scenario(name: str, models: int, records: int) -> None:
    """Feed one scenario in this process and print its figures as one JSON line."""
    runtime = Runtime(Settings(storage=StorageSection(Path())), [])
    baseline = resident_mib()
    total = models * records
    marks = [total * k // 5 for k in range(1, 6)]
    resident: list[float] = []
    since_analysis = 0
    for fed, batch in batches(models, records, SCENARIOS[name]):
        runtime.ingest(IngestBatch(batch))
        since_analysis += len(batch)
        if since_analysis >= ANALYSE_EVERY * models or fed == total:
            since_analysis = 0
            for key, state in runtime.states.items():
                runtime.analysis.analyse_now(key, state)
        while marks and fed >= marks[0]:
            marks.pop(0)
            runtime.build_snapshot()
            resident.append(resident_mib() - baseline)
    model = runtime.build_snapshot().models[0]
    print(json.dumps({"scenario": name, "models": models, "records": records,
                      "resident_mib": resident, "dropped": dict(model.dropped)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--records", type=int, default=400_000,
                        help="predictions per model in the typical scenario")
    parser.add_argument("--worst", type=int, default=60_000,
                        help="records of each worst-case scenario")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scenario is not None:
        run_scenario(args.scenario, args.models, args.records)
        return
    plans = [("typical", args.models, args.records)] + [
        (name, 1, args.worst) for name in ("classes", "names", "categories")
    ]
    for name, models, records in plans:
        child = subprocess.run(
            [sys.executable, __file__, "--scenario", name, "--models", str(models),
             "--records", str(records)],
            check=True, capture_output=True, text=True,
        )
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        resident = figures["resident_mib"]
        steps = " ".join(f"{value:7.1f}" for value in resident)
        print(f"{name:<11} {models:>3} model(s) x {records:>9,} records   RSS above baseline "
              f"after each fifth (MiB): {steps}   growth over the last four fifths "
              f"{resident[-1] - resident[0]:+.1f} MiB   dropped {figures['dropped']}")


if __name__ == "__main__":
    main()
