"""`RangeAnalysis`: drift, quality and performance over the time range the console shows (5m, 1h,
24h), for the screen only.

The model's live analysis (`runtime.analysis`) judges its newest `[drift] window` records and is
what the alert rules, the exporter and the reports read: a key pressed in a console must never
change what pages. While the console shows a range, this runs the same engines a second time per
model, on the schedule of the live runs (`[analysis] interval_seconds`), over a uniform sample
of at most `[drift] window` of the range's prediction rows (`runtime.range_sample`) and the
labelled pairs of the range the model keeps (the newest `labelled_pairs`). Only the published
snapshots over that range carry its figures (`ModelSnapshot.engine_range`); a new range forgets
the old one's figures and runs every model at the next tick. Without a chosen range nothing runs.

The rows are copied out of the model's state in the event loop (a sample, and the labelled
pairs kept: a few milliseconds a model), the engines run in a thread of the range analysis' own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from neural_tui.runtime.analysis import Analysis, ModelKey, RangeFigures
from neural_tui.runtime.state import ModelState


@dataclass(frozen=True, slots=True)
class RangeResult:
    """The engines' figures over one range of one model, and what they judged."""

    seconds: float
    figures: RangeFigures
    records: int
    """Prediction rows of the range (an estimate where a bucket straddles its start)."""
    judged: int
    """Rows of the sample the drift and quality engines judged."""
    labelled: int
    """Labelled pairs the performance engine judged."""


class RangeAnalysis:
    """Runs the engines over the chosen range per model and keeps the latest result of each."""

    def __init__(self, analysis: Analysis, clock: Callable[[], float],
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.analysis = analysis
        self._clock = clock
        """The runtime's clock: a range ends at its now (the replay's, in a replay)."""
        self._monotonic = monotonic
        self.seconds: float | None = None
        self._results: dict[ModelKey, RangeResult] = {}
        self._last_run: dict[ModelKey, float] = {}
        self._running: set[ModelKey] = set()
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="range-analysis")
        """One thread of its own: the range runs, all due at once after a new range, never
        queue ahead of the live runs (and so the alerts) in the loop's default executor."""

    def choose(self, seconds: float | None) -> None:
        """Judge `seconds` from the next tick on (None: stop); the old range's figures go."""
        if seconds != self.seconds:
            self.seconds = seconds
            self._results.clear()
            self._last_run.clear()

    def result(self, key: ModelKey) -> RangeResult | None:
        """The model's latest figures over the chosen range; None before its first run."""
        result = self._results.get(key)
        return result if result is not None and result.seconds == self.seconds else None

    async def run(self, states: Mapping[ModelKey, ModelState]) -> None:
        """Start every due run, then look again after a tick; until cancelled."""
        settings = self.analysis.settings
        tick = min(settings.runtime.cadence_seconds, settings.analysis.interval_seconds)
        async with asyncio.TaskGroup() as group:
            while True:
                for key, state in tuple(states.items()):
                    if self._due(key):
                        self._running.add(key)
                        group.create_task(self._run(key, state), name=f"range analysis:{key}")
                await asyncio.sleep(tick)

    def _due(self, key: ModelKey) -> bool:
        if self.seconds is None or key in self._running:
            return False
        last = self._last_run.get(key)
        interval = self.analysis.settings.analysis.interval_seconds
        return last is None or self._monotonic() - last >= interval

    async def _run(self, key: ModelKey, state: ModelState) -> None:
        seconds = self.seconds
        try:
            if seconds is None:
                return
            self._last_run[key] = self._monotonic()
            now = self._clock()
            rows, records = state.range_rows(now, seconds, self.analysis.settings.drift.window)
            labelled = state.labelled_between(now - seconds, now)
            after = (-math.inf if self.analysis.reference_file(state.name) is not None
                     else state.reference_period_end)
            figures = await asyncio.get_running_loop().run_in_executor(
                self._executor, self.analysis.analyse_range, key, rows, labelled, after)
            if figures is not None and seconds == self.seconds:
                self._results[key] = RangeResult(seconds, figures, records,
                                                 len(rows.timestamp), len(labelled.timestamp))
        finally:
            self._running.discard(key)
