"""The whole read path: storage file → tail source → runtime state → published snapshot.

    .venv/bin/python bench/bench_tail_to_snapshot.py [--records N] [--rounds N] [--keep]

Times, in one process over the same seeded file of N records (default 1,000,000):

- baseline: a bare `for line in f: json.loads(line)` loop;
- the path under test: `TailSource` batches ingested by `Runtime`, building a snapshot every
  100,000 records as the publisher would (each carries `Snapshot.history` while catching up),
  and a last one at the end;
- the same path drawing the reports' progress line (`neural_tui.progress_line`) after every
  batch, into a string, as `status` and `drift` do on a terminal;
- the same path with the console's runtime (`Runtime(ranges=True)`), which also keeps each
  model's sample of the time ranges (`runtime.range_sample`); the file spans 2.8 hours of
  record time, so its buckets age through all three tiers.

The four alternate for `--rounds` rounds (default 3) so that a burst of load on a shared
machine hits all; each round's ratios are printed, and the best rate of each gives the headline
ratios (targets: the path at least 2.5x the baseline; the progress line costs under 2 %, the
range sample under 5 %).
Peak RSS is printed after each phase: memory must not grow with the file (run with
`--records 250000` to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
from pathlib import Path

from bench_decode import json_loads_loop, peak_rss_mib, timed, write_storage

from neural_tui.config import Settings, StorageSection
from neural_tui.progress_line import ProgressLine
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.sources.tail import TailSource

DATA = Path(__file__).parent / "data" / "tail_to_snapshot"
SNAPSHOT_EVERY = 100_000


def tail_to_snapshot(settings: Settings, *, progress: bool = False,
                     ranges: bool = False) -> Snapshot:
    """Ingest every record of `settings.storage` and build a snapshot every `SNAPSHOT_EVERY`
    records as the publisher would; returns the last one, built at the end. With `progress`,
    the reports' progress line is drawn (into a string) after each batch; with `ranges`, the
    runtime keeps the console's range sample."""
    line = ProgressLine(io.StringIO()) if progress else None

    async def run() -> Snapshot:
        source = TailSource(settings.storage.path)
        runtime = Runtime(settings, [source], ranges=ranges)
        since_snapshot = 0
        async with source:
            async for batch in source.available():
                runtime.ingest(batch)
                history = runtime.history_progress() if line is not None else None
                if line is not None and history is not None:
                    line.show(history)
                since_snapshot += len(batch.records)
                if since_snapshot >= SNAPSHOT_EVERY:
                    runtime.build_snapshot()
                    since_snapshot = 0
        return runtime.build_snapshot()

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternate baseline and path this many times; best of each counts")
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    path = write_storage(DATA, args.records)
    print(f"{path}: {path.stat().st_size / (1 << 20):,.0f} MiB, "
          f"peak RSS after writing {peak_rss_mib():.1f} MiB")
    try:
        settings = Settings(storage=StorageSection(DATA))
        rates = [
            (timed("json.loads loop (baseline)", lambda: json_loads_loop(path)),
             timed("tail -> runtime -> snapshot", lambda: tail_to_snapshot(
                 settings).ingest.records_total),
             timed("... with the progress line", lambda: tail_to_snapshot(
                 settings, progress=True).ingest.records_total),
             timed("... with the range sample", lambda: tail_to_snapshot(
                 settings, ranges=True).ingest.records_total))
            for _ in range(args.rounds)
        ]
        ratios = ", ".join(f"{measured / baseline:.2f}x (progress {drawn / measured:.3f}x, "
                           f"range sample {sampled / measured:.3f}x)"
                           for baseline, measured, drawn, sampled in rates)
        baseline = max(rate for rate, _, _, _ in rates)
        measured = max(rate for _, rate, _, _ in rates)
        drawn = max(rate for _, _, rate, _ in rates)
        sampled = max(rate for _, _, _, rate in rates)
        print(f"rounds: {ratios}")
        print(f"best of {args.rounds}: {measured:,.0f} against {baseline:,.0f} records/s: "
              f"{measured / baseline:.2f}x the json.loads loop (target >= 2.5x)")
        print(f"with the progress line: {drawn:,.0f} records/s, {drawn / measured:.3f}x the "
              "path without it (target >= 0.98x)")
        print(f"with the range sample: {sampled:,.0f} records/s, {sampled / measured:.3f}x the "
              "path without it (target >= 0.95x)")
    finally:
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
