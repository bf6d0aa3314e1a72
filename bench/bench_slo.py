"""SLOs: the engine over 30 days of one-minute buckets, and what SLOs cost the read path.

    .venv/bin/python bench/bench_slo.py [--records N] [--rounds N] [--keep]

1. Engine: `evaluate_all` of 20 SLOs with 30-day windows (availability, error_rate, latency
   at four thresholds, accuracy, throughput) over the minute counts a model keeps for them:
   86,399 minutes (twice the window less one, for breaches) of steady traffic with a bad day of
   5% errors. A round evaluates all 20 as the runtime does, sharing sums between SLOs that
   count the same events (each SLO alone is printed too), in ms per round, against a baseline
   measured in the same process: one `np.cumsum` of the request column per SLO, the least an
   exact SLI at each minute end needs, so the ratio says how many such passes the engine costs
   an SLO. The runtime's ordered copy of the ring for its worker thread is printed beside it.
2. Many models: 20 models, each with the 20 SLOs and 60 days of minute counts, refreshed as
   the publisher does each cadence after one new second of records per model: the longest the
   event loop was held during a refresh (a task probing it at every turn) and the refresh's
   wall time, the mean and the worst over `--ticks` refreshes (default 30), and the worker's
   seconds a refresh on average. The SLO share of a 1 s cadence is that mean over 1 s.
3. Ingest: the path of `bench_tail_to_snapshot.py` (storage file -> tail -> runtime -> a
   snapshot every 100,000 records, SLOs evaluated in each) over one seeded file of N records
   (default 1,000,000), with no SLO and with the same 20 SLOs on every model, alternating for
   `--rounds` rounds (default 3). Rates in wall time and in the process's CPU time (steadier
   on a shared machine); per round and the best of each. The issue's target: SLOs cost at
   most 10% of the path (SLOs on at least 0.91x the rate without).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from bench_decode import peak_rss_mib, timed, write_storage
from bench_tail_to_snapshot import tail_to_snapshot

from neural_tui.config import Settings, SLOSection, StorageSection
from neural_tui.engines.slo import MINUTE, MinuteCounts, evaluate, evaluate_all, history_minutes
from neural_tui.records import IngestBatch, RecordBatch
from neural_tui.runtime.engine_settings import slo_specs
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.slo_counts import SLOCounts

DATA = Path(__file__).parent / "data" / "slo"
WINDOW = "30d"
SLOS = (
    *(SLOSection(name=f"availability-{t}", type="availability", target=t, window=WINDOW)
      for t in (0.99, 0.995, 0.999, 0.9995, 0.9999, 0.95)),
    *(SLOSection(name=f"errors-{t}", type="error_rate", target=t, window=WINDOW)
      for t in (0.01, 0.005, 0.001, 0.05)),
    *(SLOSection(name=f"latency-{ms}", type="latency", target=0.95, window=WINDOW,
                 threshold_ms=float(ms)) for ms in (50, 100, 250, 500)),
    *(SLOSection(name=f"accuracy-{t}", type="accuracy", target=t, window=WINDOW)
      for t in (0.6, 0.7, 0.8, 0.9)),
    SLOSection(name="throughput-1", type="throughput", target=0.99, window=WINDOW, min_rps=1.0),
    SLOSection(name="throughput-50", type="throughput", target=0.9, window=WINDOW, min_rps=50.0),
)


def thirty_days(minutes: int, seed: int = 3) -> MinuteCounts:
    """Steady traffic of about 100 requests a second, 0.1% failing, and a day at 5%."""
    rng = np.random.default_rng(seed)
    requests = rng.poisson(6000, minutes)
    error_share = np.full(minutes, 0.001)
    error_share[minutes // 2 : minutes // 2 + 1440] = 0.05
    labelled = rng.binomial(requests, 0.1)
    return MinuteCounts(
        first_minute=29_000_000,
        requests=requests,
        errors=rng.binomial(requests, error_share),
        labelled=labelled,
        correct=rng.binomial(labelled, 0.85),
        within_ms={float(ms): rng.binomial(requests, share)
                   for ms, share in ((50, 0.5), (100, 0.9), (250, 0.97), (500, 0.995))},
        timed=requests,
    )


def bench_engine(repeats: int = 20) -> None:
    specs = slo_specs(SLOS, "bench")
    minutes = max(history_minutes(spec.window_seconds) for spec in specs)
    counts = thirty_days(minutes)
    now = (counts.first_minute + minutes - 1) * MINUTE + 30.0

    def engine_round() -> None:
        evaluate_all(specs, "bench", counts, now)

    def alone_round() -> None:
        for spec in specs:
            evaluate(spec, "bench", counts, now)

    def baseline_round() -> None:
        for _ in specs:
            np.cumsum(counts.requests)

    ring = SLOCounts(specs)
    ring.add_predictions(np.arange(minutes) * float(MINUTE), np.zeros(minutes, dtype=bool),
                         np.full(minutes, 20.0), admitted_until=minutes * MINUTE)

    def copy_round() -> None:
        ring.minute_counts()

    engine_round()
    best = {name: min(_seconds(run) for _ in range(repeats))
            for name, run in (("engine", engine_round), ("alone", alone_round),
                              ("baseline", baseline_round), ("copy", copy_round))}
    status = evaluate(specs[2], "bench", counts, now)  # 99.9%: the bad day breaches it
    print(f"engine: {len(specs)} SLOs over {minutes:,} one-minute buckets: "
          f"{best['engine'] * 1e3:.1f} ms a round, best of {repeats} "
          f"({best['engine'] / len(specs) * 1e3:.2f} ms an SLO; {status.spec.name}: "
          f"{len(status.breaches)} breach(es), compliance {status.compliance:.5f}); "
          f"each SLO alone: {best['alone'] * 1e3:.1f} ms")
    print(f"baseline: one np.cumsum of the request column per SLO: "
          f"{best['baseline'] * 1e3:.1f} ms a round; the engine costs "
          f"{best['engine'] / best['baseline']:.1f}x that")
    print(f"runtime: copying one model's ring ({ring.nbytes / 2**20:.1f} MiB, "
          f"{len(ring.thresholds)} thresholds) for the worker thread and "
          f"ordering it: {best['copy'] * 1e3:.2f} ms")


def _seconds(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


MANY_MODELS = 20


def bench_many_models(ticks: int) -> None:
    start = 29_000_000 * MINUTE
    minutes = 2 * 30 * 1440
    stamps = start + MINUTE * np.arange(minutes, dtype=np.float64)
    end = float(stamps[-1])
    runtime = Runtime(Settings(storage=StorageSection(DATA), slo=SLOS), [],
                      clock=lambda: end + 10 * 86_400)
    for model in range(MANY_MODELS):
        runtime.ingest(_batch(stamps, f"model-{model}", failed_every=100))

    async def refreshes() -> tuple[list[float], list[float]]:
        stalls, walls = [], []
        for tick in range(ticks):
            second = end + 1 + tick
            for model in range(MANY_MODELS):
                runtime.ingest(_batch(np.array([second]), f"model-{model}"))
            stop = asyncio.Event()
            prober = asyncio.create_task(_longest_turn(stop))
            await asyncio.sleep(0)
            began = time.perf_counter()
            await runtime._refresh_slos()
            walls.append(time.perf_counter() - began)
            stop.set()
            stalls.append(await prober)
        return stalls, walls

    stalls, walls = asyncio.run(refreshes())
    print(f"many models: {MANY_MODELS} models x {len(SLOS)} SLOs x 30d ({minutes:,} minutes "
          f"of counts each), {ticks} refreshes, one new second of records each: event loop "
          f"held at most {max(stalls) * 1e3:.1f} ms (mean of the per-refresh worst "
          f"{statistics.mean(stalls) * 1e3:.1f} ms); refresh wall {statistics.mean(walls):.3f} s "
          f"mean, {max(walls):.3f} s worst: {statistics.mean(walls) * 100:.1f}% of a 1 s "
          f"cadence; after the first: {statistics.mean(walls[1:]) * 100:.1f}% "
          f"(worst {max(walls[1:]):.3f} s)")


async def _longest_turn(stop: asyncio.Event) -> float:
    """The longest the event loop was held from this task until `stop` is set."""
    longest = 0.0
    while not stop.is_set():
        turn = time.perf_counter()
        await asyncio.sleep(0)
        longest = max(longest, time.perf_counter() - turn)
    return longest


def _batch(stamps: np.ndarray, model: str, failed_every: int = 0) -> IngestBatch:
    """Prediction rows of one model at these times, every `failed_every`-th failed, 20 ms."""
    rows = stamps.shape[0]
    column = lambda value: np.full(rows, value, dtype=object)  # noqa: E731
    failed = (np.arange(rows) % failed_every == 0) if failed_every else np.zeros(rows, bool)
    return IngestBatch(RecordBatch(
        timestamp=stamps, model=column(model), version=column("1"),
        prediction_id=np.array([f"{model}-{t}" for t in stamps.tolist()], dtype=object),
        latency_ms=np.full(rows, 20.0), error=np.where(failed, "boom", None).astype(object),
        is_label=np.zeros(rows, dtype=bool), prediction=column(1), ground_truth=column(None),
        input_features=column(None), prediction_proba=column(None)))


def ingest_with(slos: tuple[SLOSection, ...]) -> int:
    """The path of `bench_tail_to_snapshot.py` with these SLOs (evaluated in each snapshot);
    returns the records ingested."""
    snapshot = tail_to_snapshot(Settings(storage=StorageSection(DATA), slo=slos))
    assert all(len(model.slos) == len(slos) for model in snapshot.models)
    return snapshot.ingest.records_total


def bench_ingest(records: int, rounds: int, keep: bool) -> None:
    shutil.rmtree(DATA, ignore_errors=True)
    path = write_storage(DATA, records)
    print(f"{path}: {path.stat().st_size / (1 << 20):,.0f} MiB")

    def measured(label: str, slos: tuple[SLOSection, ...]) -> tuple[float, float]:
        """Records a second of wall time and of this process's CPU time (every thread)."""
        cpu = time.process_time()
        rate = timed(label, lambda: ingest_with(slos))
        cpu = time.process_time() - cpu
        print(f"{'':<28} CPU {cpu:7.2f} s {records / cpu:>12,.0f} records/CPU s")
        return rate, records / cpu

    try:
        runs = [(measured("tail -> snapshot, no SLO", ()),
                 measured(f"same, {len(SLOS)} SLOs", SLOS)) for _ in range(rounds)]
        for kind, index in (("wall", 0), ("CPU", 1)):
            ratios = [on[index] / off[index] for off, on in runs]
            off = max(run[0][index] for run in runs)
            on = max(run[1][index] for run in runs)
            print(f"{kind}: rounds {', '.join(f'{r:.3f}x' for r in ratios)} (median "
                  f"{statistics.median(ratios):.3f}x); best of {rounds}: {on:,.0f} records/s "
                  f"with SLOs against {off:,.0f} without: {on / off:.3f}x")
        print(f"target >= 0.91x (SLOs cost at most 10%); peak RSS {peak_rss_mib():.0f} MiB")
    finally:
        if not keep:
            shutil.rmtree(DATA, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate without and with SLOs this many times; best of each")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    parser.add_argument("--ticks", type=int, default=30, help="refreshes of the many models")
    parser.add_argument("--only-models", action="store_true", help="run only part 2")
    args = parser.parse_args()
    if args.only_models:
        bench_many_models(args.ticks)
        return
    bench_engine()
    bench_many_models(args.ticks)
    bench_ingest(args.records, args.rounds, args.keep)


if __name__ == "__main__":
    main()
