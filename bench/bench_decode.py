"""How fast storage becomes record batches, against a bare `json.loads` loop over the same file.

    .venv/bin/python bench/bench_decode.py [--records N] [--nan-every N] [--keep]

Writes a seeded file of N records in the storage format (10 numeric and 3 categorical features,
probabilities, metadata, a few NaN tokens, late labels) under `bench/data/`, then times:

- baseline: `for line in f: json.loads(line)`;
- `ingest_all(storage)`: the path under test, returning how many records it ingested.

and prints records/s for each, the ratio, and peak RSS after each phase (the source streams:
RSS must not grow with the file). Swap `ingest_all` to measure a longer path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from neural_tui.sources.tail import TailSource

DATA = Path(__file__).parent / "data" / "decode"
NUMERIC = [f"num_{i}" for i in range(10)]
CATEGORIES = {
    "country": ["fr", "de", "us", "jp"],
    "device": ["ios", "android", "web"],
    "plan": ["free", "pro"],
}


def write_storage(
    storage: Path,
    records: int,
    nan_every: int = 1000,
    seed: int = 7,
    categories: dict[str, list[str]] = CATEGORIES,
) -> Path:
    """A storage directory holding one JSONL file written like the old module (`json.dumps`,
    so a missing float is a `NaN` token), a late label replacing every 50th line."""
    rng = random.Random(seed)
    predictions = storage / "predictions"
    predictions.mkdir(parents=True, exist_ok=True)
    path = predictions / "bench.jsonl"
    with path.open("w", encoding="utf-8") as file:
        for index in range(records):
            features: dict[str, object] = {name: rng.gauss(0.0, 1.0) for name in NUMERIC}
            features.update({name: rng.choice(values) for name, values in categories.items()})
            if index % nan_every == 1 % nan_every:
                features["num_0"] = float("nan")
            positive = rng.random()
            line: dict[str, object] = {
                "timestamp": 1_700_000_000.0 + index * 0.01,
                "prediction_id": f"req-{index}",
                "input_features": features,
                "prediction": int(positive > 0.5),
                "prediction_proba": {"0": 1.0 - positive, "1": positive},
                "ground_truth": None,
                "latency_ms": rng.lognormvariate(3.0, 0.5),
                "metadata": {"host": "model-1", "region": "eu-west-1"},
            }
            if index % 50 == 0:
                line = {
                    "timestamp": line["timestamp"],
                    "prediction_id": f"req-{index - 1}",
                    "ground_truth": rng.randint(0, 1),
                }
            file.write(json.dumps(line) + "\n")
    return path


def json_loads_loop(path: Path) -> int:
    """The baseline: what a naive reader does per line."""
    count = 0
    with path.open(encoding="utf-8") as file:
        for line in file:
            json.loads(line)
            count += 1
    return count


def ingest_all(storage: Path) -> int:
    """The path under test: every record of the storage through `TailSource`."""

    async def run() -> int:
        count = 0
        async with TailSource(storage) as source:
            async for batch in source.available():
                count += len(batch.records)
        return count

    return asyncio.run(run())


def timed(label: str, run: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = run()
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(
        f"{label:<28} {count:>10,} records {seconds:7.2f} s {rate:>12,.0f} records/s"
        f"   peak RSS {peak_rss_mib():7.1f} MiB"
    )
    return rate


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / (1 << 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument(
        "--nan-every", type=int, default=1000, help="write a NaN feature every N records"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated data")
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    path = write_storage(DATA, args.records, args.nan_every)
    print(
        f"{path}: {path.stat().st_size / (1 << 20):,.0f} MiB, "
        f"peak RSS after writing {peak_rss_mib():.1f} MiB"
    )
    try:
        baseline = timed("json.loads loop (baseline)", lambda: json_loads_loop(path))
        measured = timed("TailSource.available", lambda: ingest_all(DATA))
        print(f"ratio: {measured / baseline:.1f}x the json.loads loop")
    finally:
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
