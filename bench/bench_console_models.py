"""The console's cost of many models: open -> first frame with panels, and `d` / `esc`.

    .venv/bin/python bench/bench_console_models.py [--models 3,100,1000] [--presses N]
                                                    [--size 200x60]

For each count N, a storage holding N models' prediction files (a few recent records each,
in a window of an hour) is opened by the real console (`console.console_app`) under Pilot,
200x60 by default. It times the open, from starting the app to the first frame painted once
every model is in the snapshot and a panel has the focus; then `d` (drift drill-down of the
focused model) and `escape` (back to the overview), `--presses` times each, key -> first frame
of the new screen (a hook on `App._display`, through which every frame passes). Every figure
is printed as a ratio against the first count's, measured in the same process; a console
that does not open within `OPEN_TIMEOUT_SECONDS`, or fails, is printed as such.

Targets: 1,000 models open within a few seconds, `d` / `esc` answer well under a second, and
3 models stay as fast as before.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.screen import Screen

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import RuntimeSection, Settings, StorageSection
from neural_tui.console import console_app
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.widgets.model_panel import ModelPanel

RECORDS_PER_MODEL = 20
WINDOW_SECONDS = 3600.0
"""Long enough that no model turns idle during a run, whatever its length: every panel stays
in the same state, so the counts compare."""
OPEN_TIMEOUT_SECONDS = 600.0
LINE = ('{{"timestamp": {ts:.4f}, "prediction_id": "{model}-{i}", "model_name": "{model}", '
        '"model_version": "1.0", "input_features": {{"amount": {amount:.2f}, '
        '"channel": "web"}}, "prediction": {pred}, "latency_ms": {latency:.1f}}}\n')


def write_storage(storage: Path, models: int) -> None:
    """`models` prediction files of `RECORDS_PER_MODEL` records from the last few seconds."""
    folder = storage / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    for m in range(models):
        name = f"model-{m:04d}"
        (folder / f"{name}.jsonl").write_text("".join(
            LINE.format(ts=now - RECORDS_PER_MODEL + i, i=i, model=name, amount=(m + i) % 500,
                        pred=i % 2, latency=5 + (m * i) % 40)
            for i in range(RECORDS_PER_MODEL)))


@dataclass
class Figures:
    """One count's measurements, in seconds."""

    models: int
    open_seconds: float
    drift_keys: list[float]
    back_keys: list[float]

    @property
    def drift_median(self) -> float:
        return statistics.median(self.drift_keys)

    @property
    def back_median(self) -> float:
        return statistics.median(self.back_keys)


class Frames:
    """When the app painted each frame, and of which screen."""

    def __init__(self, app: NeuralTuiApp) -> None:
        self.painted: list[tuple[float, type[Screen[Any]]]] = []
        display = app._display

        def record(screen: Screen[Any], renderable: Any) -> None:
            self.painted.append((time.perf_counter(), type(screen)))
            display(screen, renderable)

        app._display = record  # type: ignore[method-assign]

    def first_after(self, seen: int, kind: type[Screen[Any]]) -> float | None:
        return next((at for at, screen in self.painted[seen:] if screen is kind), None)


async def wait_frame(frames: Frames, seen: int, kind: type[Screen[Any]], what: str,
                     timeout: float = 120.0) -> float:
    """When the first `kind` frame after the `seen` first ones was painted."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        hit = frames.first_after(seen, kind)
        if hit is not None:
            return hit
        await asyncio.sleep(0.001)
    raise RuntimeError(f"{what}: no {kind.__name__} frame within {timeout:.0f} s")


async def measure(storage: Path, models: int, presses: int, size: tuple[int, int]) -> Figures:
    settings = Settings(storage=StorageSection(storage),
                        runtime=RuntimeSection(window_seconds=WINDOW_SECONDS,
                                               max_models=max(models, 100)))
    app = console_app(settings, storage, label="bench")
    frames = Frames(app)
    start = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        deadline = start + OPEN_TIMEOUT_SECONDS
        while (len(app.snapshot.models) < models or not isinstance(app.focused, ModelPanel)
               or not app.screen.query(ModelPanel)):
            if app.return_code is not None:
                raise RuntimeError(f"the console ended after "
                                   f"{time.perf_counter() - start:.1f} s")
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"not all shown within {OPEN_TIMEOUT_SECONDS:.0f} s "
                    f"({len(app.snapshot.models)} in the snapshot, "
                    f"{len(app.screen.query(ModelPanel))} panels mounted, focus on "
                    f"{type(app.focused).__name__})")
            await asyncio.sleep(0.005)
        opened = await wait_frame(frames, len(frames.painted), OverviewScreen, "open") - start
        await asyncio.sleep(0.5)
        drift_keys: list[float] = []
        back_keys: list[float] = []
        for _ in range(presses):
            for key, kind, times in (("d", DriftScreen, drift_keys),
                                     ("escape", OverviewScreen, back_keys)):
                seen, pressed = len(frames.painted), time.perf_counter()
                await pilot.press(key)
                times.append(await wait_frame(frames, seen, kind, key) - pressed)
                await asyncio.sleep(0.05)
    return Figures(models, opened, drift_keys, back_keys)


def run(models: int, presses: int, size: tuple[int, int]) -> Figures:
    storage = Path(tempfile.mkdtemp(prefix="bench-console-models-"))
    try:
        write_storage(storage, models)
        return asyncio.run(measure(storage, models, presses, size))
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="3,100,1000", help="model counts, comma-separated")
    parser.add_argument("--presses", type=int, default=5, help="`d` then `escape`, this often")
    parser.add_argument("--size", default="200x60", help="terminal columns x rows")
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    base: Figures | None = None
    for count in (int(part) for part in args.models.split(",")):
        try:
            figures = run(count, args.presses, (width, height))
        except Exception as error:  # a console that never opens, or fails, is a finding too
            said = [str(e) for e in (error.__context__, error) if e is not None]
            print(f"{count:>5} models: {'; then '.join(said)}", flush=True)
            continue
        base = base or figures
        print(f"{count:>5} models: open {figures.open_seconds:6.2f} s "
              f"({figures.open_seconds / base.open_seconds:5.1f}x); "
              f"d median {figures.drift_median * 1000:7.0f} ms "
              f"({figures.drift_median / base.drift_median:5.1f}x, "
              f"max {max(figures.drift_keys) * 1000:.0f}); "
              f"esc median {figures.back_median * 1000:7.0f} ms "
              f"({figures.back_median / base.back_median:5.1f}x, "
              f"max {max(figures.back_keys) * 1000:.0f})", flush=True)


if __name__ == "__main__":
    main()
