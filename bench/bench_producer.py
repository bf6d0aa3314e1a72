"""Per-call cost of `ModelLogger.log_prediction` against a naive `json.dumps` writer, and of
`ModelMonitor.log_prediction` (the old module's face: the same writer plus its in-memory
figures and default SLO tracking, three SLO events a call, tallied per minute).

All log the same pre-built records in the same run. The monitor runs as a server would run
it: thread-safe, batched, with a small `max_file_bytes` so that files rotate during the run.
The naive baseline has the same signature, builds the same record, `json.dumps` it and writes
it to one open file. Target: the monitor is no slower than the baseline.

    .venv/bin/python bench/bench_producer.py [--records N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from neural_tui import ModelLogger, ModelMonitor

Call = tuple[str, dict[str, Any], int, dict[str, float], None, float, dict[str, str]]


def make_calls(count: int, seed: int = 7) -> list[Call]:
    """Arguments of `count` realistic calls: 10 numeric and 3 categorical features."""
    rng = random.Random(seed)
    calls: list[Call] = []
    for index in range(count):
        features: dict[str, Any] = {f"num_{i}": rng.gauss(0.0, 1.0) for i in range(10)}
        features["country"] = rng.choice(["US", "GB", "DE", "FR", "BR"])
        features["device"] = rng.choice(["mobile", "desktop", "tablet"])
        features["plan"] = rng.choice(["basic", "pro", "enterprise"])
        positive = rng.random()
        calls.append(
            (
                f"req-{index:09d}",
                features,
                int(positive > 0.5),
                {"0": 1.0 - positive, "1": positive},
                None,
                rng.lognormvariate(3.0, 0.5),
                {"host": "model-1", "region": "eu-west-1"},
            )
        )
    return calls


class NaiveLogger:
    """The baseline: what a hand-written logger does, one `json.dumps` and write per call."""

    def __init__(self, file: TextIO, model_name: str, model_version: str) -> None:
        self._file = file
        self._model_name = model_name
        self._model_version = model_version

    def log_prediction(
        self,
        prediction_id: str,
        input_features: dict[str, Any],
        prediction: Any,
        prediction_proba: dict[str, float] | None = None,
        ground_truth: Any = None,
        latency_ms: float = 0.0,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        record = {
            "timestamp": time.time(),
            "prediction_id": prediction_id,
            "input_features": input_features,
            "prediction": prediction,
            "prediction_proba": prediction_proba,
            "ground_truth": ground_truth,
            "latency_ms": latency_ms,
            "metadata": metadata,
            "model_name": self._model_name,
            "model_version": self._model_version,
        }
        self._file.write(json.dumps(record) + "\n")


def run_naive(calls: list[Call], directory: Path) -> tuple[float, float]:
    """Seconds spent in the calls, and in calls plus closing the file."""
    with (directory / "naive.jsonl").open("w", encoding="utf-8") as file:
        logger = NaiveLogger(file, "bench-model", "1.0")
        start = time.perf_counter()
        log = logger.log_prediction
        for call in calls:
            log(*call)
        calls_done = time.perf_counter()
    return calls_done - start, time.perf_counter() - start


def run_monitor(calls: list[Call], directory: Path, max_file_bytes: int) -> tuple[float, float]:
    """Seconds spent in the calls, and in calls plus `close()` (the final flush)."""
    monitor = ModelLogger("bench-model", "1.0", directory, max_file_bytes=max_file_bytes)
    start = time.perf_counter()
    log = monitor.log_prediction
    for call in calls:
        log(*call)
    calls_done = time.perf_counter()
    monitor.close()
    return calls_done - start, time.perf_counter() - start


def run_old_face(calls: list[Call], directory: Path, max_file_bytes: int) -> tuple[float, float]:
    """As `run_monitor`, through `ModelMonitor` with its defaults (SLO tracking, alerting)."""
    monitor = ModelMonitor("bench-model", "1.0", storage_path=directory,
                           max_file_bytes=max_file_bytes)
    start = time.perf_counter()
    log = monitor.log_prediction
    for call in calls:
        log(*call)
    calls_done = time.perf_counter()
    monitor.close()
    return calls_done - start, time.perf_counter() - start


def best_of(repeat: int, run: Callable[[Path], tuple[float, float]]) -> tuple[float, float]:
    """Fastest of `repeat` runs, each in a fresh directory (the machine is shared and noisy)."""
    results = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-producer-") as directory:
            results.append(run(Path(directory)))
    return min(results)


def count_lines(directory: Path) -> tuple[int, int]:
    files = sorted((directory / "predictions").glob("*.jsonl"))
    return len(files), sum(path.read_bytes().count(b"\n") for path in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-file-bytes", type=int, default=4 << 20)
    args = parser.parse_args()

    calls = make_calls(args.records)
    with tempfile.TemporaryDirectory(prefix="bench-producer-") as directory:
        run_monitor(calls, Path(directory), args.max_file_bytes)
        files, lines = count_lines(Path(directory))
    if lines != len(calls):
        raise SystemExit(f"monitor wrote {lines} lines for {len(calls)} calls")

    naive_calls, naive_total = best_of(args.repeat, lambda d: run_naive(calls, d))
    monitor_calls, monitor_total = best_of(
        args.repeat, lambda d: run_monitor(calls, d, args.max_file_bytes)
    )
    old_calls, _ = best_of(args.repeat, lambda d: run_old_face(calls, d, args.max_file_bytes))
    per_call = 1e6 / len(calls)
    print(f"{len(calls):,} calls, best of {args.repeat}; monitor rotated into {files} files")
    print(f"naive json.dumps + write : {naive_calls * per_call:6.2f} us/call")
    print(f"ModelLogger.log_prediction: {monitor_calls * per_call:6.2f} us/call")
    print(f"ratio naive / monitor (per call)  : {naive_calls / monitor_calls:5.2f}x")
    print(f"ModelMonitor.log_prediction (SLOs): {old_calls * per_call:6.2f} us/call, "
          f"ratio naive / it {naive_calls / old_calls:5.2f}x")
    print(f"end to end (calls + close): naive {naive_total:.3f} s, monitor {monitor_total:.3f} s")
    print(f"ratio naive / monitor (end to end): {naive_total / monitor_total:5.2f}x")


if __name__ == "__main__":
    main()
