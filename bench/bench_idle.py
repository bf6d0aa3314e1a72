"""What following many quiet files costs: CPU seconds per wall second while nothing is written.

    .venv/bin/python bench/bench_idle.py [--files N] [--seconds S]

Writes N one-record files under `bench/data/idle/predictions/`, then follows them with
`TailSource.batches()` (the default poll interval), first with the backoff disabled (every file
stat'ed every poll: the baseline), then as shipped. Each run first reads every record and waits
until the polling intervals have grown, then measures process CPU time (all threads) over S
seconds of quiet, and prints both figures and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import time
from pathlib import Path

from neural_tui.sources.scan import QUIET_POLL_CAP_SECONDS
from neural_tui.sources.tail import TailSource

DATA = Path(__file__).parent / "data" / "idle"
POLL_SECONDS = 0.25


def write_storage(storage: Path, files: int) -> None:
    predictions = storage / "predictions"
    predictions.mkdir(parents=True, exist_ok=True)
    for index in range(files):
        line = {"timestamp": 1_700_000_000.0 + index, "prediction_id": f"p{index}",
                "input_features": {"x": 1.0}, "prediction": 1, "latency_ms": 5.0}
        (predictions / f"model-{index:05}.jsonl").write_text(json.dumps(line) + "\n")


async def cpu_per_wall_second(storage: Path, files: int, seconds: float, cap: float) -> float:
    """Follow `storage` until every record is read, then CPU seconds per second of quiet."""
    source = TailSource(storage, poll_interval=POLL_SECONDS, quiet_poll_cap=cap)
    stream = source.batches()
    read = 0
    while read < files:
        read += len((await anext(stream)).records)

    async def follow() -> None:
        async for batch in stream:
            raise AssertionError(f"nothing was written, yet {len(batch.records)} records came")

    following = asyncio.ensure_future(follow())
    await asyncio.sleep(2 * cap + 1.0)  # until the intervals have grown to the cap
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    used = (time.process_time() - cpu) / (time.perf_counter() - wall)
    following.cancel()
    await asyncio.gather(following, return_exceptions=True)
    await stream.aclose()
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    write_storage(DATA, args.files)
    try:
        baseline = asyncio.run(cpu_per_wall_second(DATA, args.files, args.seconds, POLL_SECONDS))
        print(f"{args.files:,} quiet files, every file stat'ed every poll (baseline): "
              f"{baseline:.3f} CPU s per s")
        shipped = asyncio.run(
            cpu_per_wall_second(DATA, args.files, args.seconds, QUIET_POLL_CAP_SECONDS)
        )
        print(f"{args.files:,} quiet files, backoff up to {QUIET_POLL_CAP_SECONDS:g} s: "
              f"{shipped:.3f} CPU s per s")
        print(f"ratio: {shipped / baseline:.2f}x the baseline")
    finally:
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
