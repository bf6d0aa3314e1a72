"""The engines over the console's time range: drift, quality and performance of the range the
console shows, while the alerting keeps judging each model's newest records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
from console_view import rendered
from scipy import stats
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import (
    AnalysisSection,
    DriftSection,
    RuntimeSection,
    Settings,
    StorageSection,
)
from neural_tui.records import IngestBatch
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.screens.drift import DriftScreen
from tests.batches import make_batch

T0 = 1_800_000_000.0
NOW = T0 + 0.5
WINDOW = 200

# The model's traffic, one record a second over the last two hours (7,200 records):
# - its first 200 records (T0-7199 .. T0-7000) are the reference: x ~ N(0, 1);
# - an incident from T0-3000 to T0-601 shifts x to N(3, 1): 2,400 of the last hour's 3,600;
# - the last ten minutes are calm again, so the newest 200 records (the live window) are too.
TIMES = T0 - np.arange(7199, -1, -1, dtype=np.float64)
SHIFTED = (TIMES >= T0 - 3000) & (TIMES <= T0 - 601)


def settings(tmp_path: Path) -> Settings:
    return Settings(storage=StorageSection(tmp_path),
                    runtime=RuntimeSection(cadence_seconds=0.02, window_seconds=60,
                                           series_seconds=60),
                    analysis=AnalysisSection(interval_seconds=0.05, every_records=1),
                    drift=DriftSection(window=WINDOW, reference_rows=WINDOW))


def traffic() -> IngestBatch:
    rng = np.random.default_rng(5)
    x = rng.normal(0.0, 1.0, TIMES.shape[0]) + np.where(SHIFTED, 3.0, 0.0)
    features = [json.dumps({"x": float(value)}).encode() for value in x]
    return IngestBatch(make_batch(TIMES, model="fraud", features=features,
                                  ids=[f"p{i}" for i in range(TIMES.shape[0])]))


async def until(runtime: Runtime, holds: Callable[[Snapshot], bool],
                what: str, timeout: float = 30.0) -> Snapshot:
    """Run the runtime until its latest shown snapshot `holds`."""
    task = asyncio.create_task(runtime.run())
    try:
        async with asyncio.timeout(timeout):
            while not holds(runtime.latest):
                await asyncio.sleep(0.02)
        return runtime.latest
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def shown(pilot: Pilot, selector: str, expected: str, timeout: float = 15.0) -> str:
    """The text of `selector` on the screen once it holds `expected` (the app draws the
    snapshots it receives on its own refresh cadence), its whitespace collapsed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = " ".join(rendered(pilot.app, pilot.app.screen.query_one(selector)).split())
        if expected in text or asyncio.get_running_loop().time() > deadline:
            return text
        await pilot.pause(0.05)


def fraud(snapshot: Snapshot) -> ModelSnapshot:
    (model,) = snapshot.models
    return model


def ranged(seconds: float) -> Callable[[Snapshot], bool]:
    return lambda snapshot: bool(snapshot.models) and (
        fraud(snapshot).engine_range is not None
        and fraud(snapshot).engine_range.seconds == seconds
        and fraud(snapshot).drift is not None)


def live_drift(snapshot: Snapshot) -> bool:
    return bool(snapshot.models) and fraud(snapshot).drift is not None


async def test_the_1h_range_shows_the_incident_the_newest_records_no_longer_hold(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW, ranges=True)
    runtime.ingest(traffic())
    live = fraud(await until(runtime, live_drift, "the live drift"))
    assert live.engine_range is None
    assert not live.drift.dataset_drift

    runtime.set_time_range(3600)
    hour = fraud(await until(runtime, ranged(3600), "the drift over the hour"))
    assert hour.drift.dataset_drift
    assert abs(hour.engine_range.records - 3600) <= 36  # the oldest bucket's is estimated
    assert hour.engine_range.judged == WINDOW
    # what the alert rules read is still the newest records, where nothing drifted
    alerting = fraud(runtime.configured_window.latest)
    assert alerting.engine_range is None
    assert not alerting.drift.dataset_drift

    runtime.set_time_range(300)
    five = fraud(await until(runtime, ranged(300), "the drift over five minutes"))
    assert not five.drift.dataset_drift
    assert abs(five.engine_range.records - 300) <= 3


async def test_the_range_sample_is_the_ranges_traffic_as_a_uniform_sample(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW, ranges=True)
    runtime.ingest(traffic())
    (state,) = runtime.states.values()
    rows, records = state.range_rows(NOW, 3600, WINDOW)
    assert abs(records - 3600) <= 36
    assert rows.timestamp.shape[0] == WINDOW
    in_hour = TIMES[TIMES > NOW - 3600]
    assert stats.ks_2samp(rows.timestamp, in_hour).pvalue > 0.01
    shifted_share = np.count_nonzero(SHIFTED[TIMES > NOW - 3600]) / in_hour.shape[0]
    sampled_share = np.mean((rows.timestamp >= T0 - 3000) & (rows.timestamp <= T0 - 601))
    assert abs(sampled_share - shifted_share) < 0.12


async def test_a_runtime_without_ranges_keeps_no_sample_and_judges_no_range(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW)
    runtime.ingest(traffic())
    (state,) = runtime.states.values()
    assert state.range_sample is None
    runtime.set_time_range(3600)
    snapshot = await until(runtime, live_drift, "the live drift")
    assert fraud(snapshot).engine_range is None
    assert not snapshot.engine_ranges


async def test_the_drift_screen_says_which_range_and_sample_it_judged(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW, ranges=True)
    runtime.ingest(traffic())
    async with NeuralTuiApp(runtime).run_test(size=(160, 40)) as pilot:
        await pilot.press("t", "t")
        for _ in range(300):
            await pilot.pause(0.05)
            if fraud(runtime.latest).engine_range is not None:
                break
        await pilot.press("d")
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen)
        summary = await shown(pilot, "#drift-summary", "last 1h")
        assert re.search(r"last 1h: 200 sampled of 3,[56]\d\d records", summary)
        assert "DATASET DRIFT" in summary


async def test_a_range_with_no_prediction_says_so_instead_of_waiting_for_a_run(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW + 600, ranges=True)
    runtime.ingest(traffic())
    runtime.set_time_range(300)
    shown = fraud(await until(runtime, lambda s: bool(s.models)
                              and fraud(s).engine_range is not None, "the range's run"))
    assert shown.drift is None
    assert shown.analysis_waiting == "no predictions in the time range shown"
    assert fraud(runtime.configured_window.latest).drift is not None


def test_a_range_run_admits_no_feature_name_the_live_runs_would_not_see(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW, ranges=True)
    runtime.ingest(traffic())
    ((key, state),) = runtime.states.items()
    runtime.analysis.analyse_now(key, state)
    rows, _ = state.range_rows(NOW, 3600, WINDOW)
    novel = np.empty(len(rows.timestamp), dtype=object)
    novel[:] = [b'{"x": 1.0, "only_in_the_range": 2.0}'] * len(rows.timestamp)
    figures = runtime.analysis.analyse_range(
        key, replace(rows, input_features=novel), state.labelled_between(NOW - 3600, NOW),
        -math.inf)
    assert [feature.name for feature in figures.drift.features
            if feature.kind == "numeric"] == ["x"]
    assert runtime.analysis.analyse_now(key, state).features_dropped == 0


def test_the_ranges_performance_drop_compares_only_pairs_after_the_reference_period(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW, ranges=True)
    batch = traffic().records
    labels = np.array([i % 3 == 0 for i in range(TIMES.shape[0])], dtype=object)
    runtime.ingest(IngestBatch(replace(batch, ground_truth=labels,
                                       prediction=np.full(TIMES.shape[0], True, dtype=object))))
    ((key, state),) = runtime.states.items()
    runtime.analysis.analyse_now(key, state)
    day = state.labelled_between(NOW - 86_400, NOW)
    figures = runtime.analysis.analyse_range(key, state.range_rows(NOW, 86_400, WINDOW)[0], day,
                                             state.reference_period_end)
    assert figures.performance.n_labelled == TIMES.shape[0]
    assert figures.performance_compared.n_labelled == TIMES.shape[0] - WINDOW


async def test_the_drift_screen_says_when_the_range_shown_has_no_prediction(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW + 600, ranges=True)
    runtime.ingest(traffic())
    async with NeuralTuiApp(runtime).run_test(size=(160, 40)) as pilot:
        await pilot.press("t")
        for _ in range(300):
            await pilot.pause(0.05)
            if fraud(runtime.latest).engine_range is not None:
                break
        await pilot.press("d")
        waiting = await shown(pilot, "#drift-waiting", "last 5m")
        assert "No drift report for the last 5m: no predictions in the time range shown" in (
            waiting)
