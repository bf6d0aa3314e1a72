"""The console's answer to a key while records pour in: key -> changed screen, under load.

    .venv/bin/python bench/bench_console_keys.py [--rate N] [--presses N] [--watch S]

The real console (`console.console_app`: the runtime, the tail source and the alerting in the
app's own loop) runs under Pilot at 120x40 over a storage that a separate writer process fills
at `--rate` records a second (default 200,000) over three models. It presses `d` then `escape`
`--presses` times each and times each key until the app first paints the new screen (a hook on
`App._display`, through which every frame passes). The same is measured first with no writer
(the baseline). Then it sits `--watch` seconds on the overview and counts, per second, the
distinct snapshots the frames showed: the panels must update at least once a second.

Targets: median key -> screen < 100 ms under load; at least 1 snapshot shown every second.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import Settings, StorageSection
from neural_tui.console import console_app
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.widgets.model_panel import ModelPanel

MODELS = ("fraud", "churn", "price")
WRITE_EVERY = 0.05
LINE = ('{{"timestamp": {ts:.4f}, "prediction_id": "r-{i}", "model_name": "{model}", '
        '"model_version": "1.0", "input_features": {{"amount": {amount:.2f}, '
        '"channel": "web"}}, "prediction": {pred}, "latency_ms": {latency:.1f}}}\n')


def write_load(storage: Path, rate: int, stop: Event) -> None:
    """Append `rate` records a second, in blocks every `WRITE_EVERY` s, until `stop` is set.

    Each model's block is built once with a placeholder for the time, which each write fills
    in: the writer shares the machine with the console, so it must cost little itself.
    """
    folder = storage / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    per_block = max(1, int(rate * WRITE_EVERY / len(MODELS)))
    blocks = [(model, (folder / f"{model}.jsonl").open("ab"),
               "".join(LINE.format(ts=0.0, i=n, model=model, amount=n % 500, pred=n % 2,
                                   latency=5 + n % 40)
                       for n in range(per_block)).replace('"timestamp": 0.0000',
                                                          '"timestamp": @TIME@').encode())
              for model in MODELS]
    next_at = time.monotonic()
    while not stop.is_set():
        now = f"{time.time():.4f}".encode()
        for _, out, block in blocks:
            out.write(block.replace(b"@TIME@", now))
            out.flush()
        next_at += WRITE_EVERY
        time.sleep(max(0.0, next_at - time.monotonic()))
    for _, out, _ in blocks:
        out.close()


@dataclass
class Frames:
    """Every frame the app painted: when, of which screen, showing which snapshot."""

    painted: list[tuple[float, type[Screen[Any]], float]] = field(default_factory=list)

    def hook(self, app: NeuralTuiApp) -> None:
        display = app._display

        def record(screen: Screen[Any], renderable: Any) -> None:
            self.painted.append((time.perf_counter(), type(screen),
                                 app.snapshot.generated_at))
            display(screen, renderable)

        app._display = record  # type: ignore[method-assign]


async def time_key(pilot: Pilot[Any], frames: Frames, key: str,
                   kind: type[Screen[Any]]) -> float:
    """Seconds from pressing `key` to the first frame of a `kind` screen."""
    start = time.perf_counter()
    seen = len(frames.painted)
    await pilot.press(key)
    deadline = start + 10.0
    while time.perf_counter() < deadline:
        hit = next((at for at, screen, _ in frames.painted[seen:] if screen is kind), None)
        if hit is not None:
            return hit - start
        await asyncio.sleep(0.001)
    app = pilot.app
    raise RuntimeError(f"{key}: no {kind.__name__} frame within 10 s (on {app.screen!r}, "
                       f"focus {app.focused!r}, {len(frames.painted) - seen} frames since)")


async def measure(storage: Path, presses: int, watch: float
                  ) -> tuple[list[float], list[int], float]:
    """Key -> screen times of `d` and `escape`, snapshots shown in each watched second, and
    the records a second the console read meanwhile (so that it keeps up with the writer)."""
    app = console_app(Settings(storage=StorageSection(storage)), storage, label="bench")
    frames = Frames()
    async with app.run_test(size=(120, 40)) as pilot:
        frames.hook(app)
        while not app.snapshot.models or not isinstance(app.focused, ModelPanel):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        times: list[float] = []
        for _ in range(presses):
            times.append(await time_key(pilot, frames, "d", DriftScreen))
            await asyncio.sleep(0.05)
            times.append(await time_key(pilot, frames, "escape", OverviewScreen))
            await asyncio.sleep(0.05)
        start, read_before = time.perf_counter(), app.snapshot.ingest.records_total
        await asyncio.sleep(watch)
        ingested = (app.snapshot.ingest.records_total - read_before) / watch
        shown = [len({snap for at, screen, snap in frames.painted
                      if start + s <= at < start + s + 1 and screen is OverviewScreen})
                 for s in range(int(watch))]
    return times, shown, ingested


def run(label: str, rate: int, presses: int, watch: float) -> tuple[float, float]:
    storage = Path(tempfile.mkdtemp(prefix="bench-console-keys-"))
    stop = multiprocessing.Event()
    writer = multiprocessing.Process(target=write_load, args=(storage, max(rate, 30), stop),
                                     daemon=True)
    writer.start()
    time.sleep(0.5)
    if rate == 0:
        stop.set()
        writer.join()
    try:
        times, shown, ingested = asyncio.run(measure(storage, presses, watch))
    finally:
        stop.set()
        writer.join(timeout=5)
        shutil.rmtree(storage, ignore_errors=True)
    ms = sorted(t * 1000 for t in times)
    median, p90 = statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]
    print(f"{label}: key -> screen median {median:.0f} ms, p90 {p90:.0f} ms over {len(ms)} "
          f"keys; snapshots shown per second {shown} (min {min(shown, default=0)}); "
          f"{ingested:,.0f} records/s read")
    return median, p90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=200_000, help="records a second")
    parser.add_argument("--presses", type=int, default=20, help="`d` then `escape`, this often")
    parser.add_argument("--watch", type=float, default=5.0, help="seconds on the overview")
    args = parser.parse_args()
    base_median, _ = run("baseline (no ingest)", 0, args.presses, args.watch)
    median, _ = run(f"under {args.rate:,} records/s", args.rate, args.presses, args.watch)
    print(f"median under load {median:.0f} ms (target < 100 ms), "
          f"{median / base_median:.2f}x the baseline's {base_median:.0f} ms")


if __name__ == "__main__":
    main()
