"""The console's time range (`t`: 5m, 1h, 24h): what the runtime computes over it, what the
alerting keeps reading (the configured window), and pausing without losing records."""

from __future__ import annotations

import asyncio
import contextlib
import math
from pathlib import Path

import numpy as np
import pytest
from console_view import panel_named, rendered
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import RuntimeSection, Settings, StorageSection
from neural_tui.console import AlertingFeed
from neural_tui.records import IngestBatch
from neural_tui.runtime.feed import Snapshots
from neural_tui.runtime.minute_history import MinuteHistory
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import SERIES_POINTS, Snapshot
from neural_tui.runtime.state import ModelState
from neural_tui.widgets.status_line import StatusLine
from tests.batches import make_batch

T0 = 1_700_000_040.0
"""A minute's start (T0 / 60 = 28,333,334): the runtime's clock is 30.5 s past it."""
NOW = T0 + 30.5
DAY = 86_400
YEAR = 365 * DAY

# The synthetic traffic, at whole seconds, seeded so the order within a batch is shuffled:
# - the last 5 minutes, seconds T0-269 .. T0+30 (300 s): 4 records a second, one of them an
#   error, 10 ms each: 1,200 records, 300 errors;
# - the rest of the hour, seconds T0-3569 .. T0-270 (3,300 s): 1 a second, no error, 20 ms;
# - the rest of the day, every 10 s from T0-86340 to T0-3610 (8,274 records), every second one
#   an error (4,137), 30 ms;
# - 7 records a day and 5 s old (minute M0-1441: outside the day), 40 ms;
# - a lone record a year ahead, which traffic does not support (`ModelState`): never admitted.
LAST_5M = np.repeat(np.arange(T0 - 269, T0 + 31), 4)
REST_OF_HOUR = np.arange(T0 - 3569, T0 - 269)
REST_OF_DAY = np.arange(T0 - 86_340, T0 - 3600, 10)
DAY_OLD = np.full(7, T0 - DAY - 5)
YEAR_AHEAD = np.full(1, T0 + YEAR)


def settings(tmp_path: Path) -> Settings:
    return Settings(storage=StorageSection(tmp_path),
                    runtime=RuntimeSection(cadence_seconds=0.01, window_seconds=60,
                                           series_seconds=60))


def shuffled_batch(timestamps: np.ndarray, latency_ms: float, error_every: int,
                   rng: np.random.Generator) -> IngestBatch:
    errors = ["boom" if (i + 1) % error_every == 0 else None for i in range(len(timestamps))]
    order = rng.permutation(len(timestamps))
    return IngestBatch(make_batch(timestamps[order], latency_ms=np.full(len(timestamps),
                                                                        latency_ms),
                                  errors=[errors[i] for i in order.tolist()]))


def day_of_traffic(tmp_path: Path) -> Runtime:
    """The runtime after the traffic above, the recent hour first, the older day after it."""
    assert len(LAST_5M) == 1200 and len(REST_OF_HOUR) == 3300 and len(REST_OF_DAY) == 8274
    rng = np.random.default_rng(11)
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW)
    runtime.ingest(shuffled_batch(LAST_5M, 10.0, 4, rng))
    runtime.ingest(shuffled_batch(REST_OF_HOUR, 20.0, len(REST_OF_HOUR) + 1, rng))
    runtime.ingest(shuffled_batch(np.concatenate([REST_OF_DAY, DAY_OLD, YEAR_AHEAD]), 30.0, 2,
                                  rng))
    return runtime


def test_the_5m_range_covers_the_last_five_minutes(tmp_path):
    runtime = day_of_traffic(tmp_path)
    runtime.set_time_range(300)
    model = runtime.latest.models[0]
    assert runtime.latest.time_range_seconds == 300
    assert model.window_seconds == 300
    # The per-second window counts the second it starts in too (T0-270), as it always did.
    assert model.throughput_rps == pytest.approx((1200 + 1) / 300)
    assert model.error_rate == pytest.approx(300 / 1201)
    assert model.latency_p50_ms == pytest.approx(10.0)
    # 3 s steps over 300 s, seconds T0-270 .. T0+29: one record, then 299 seconds of 4.
    assert model.series_step_seconds == 3
    assert len(model.throughput_series) == 100
    assert sum(model.throughput_series) * 3 == pytest.approx(1 + 299 * 4)


def test_the_1h_range_covers_the_hour(tmp_path):
    runtime = day_of_traffic(tmp_path)
    runtime.set_time_range(3600)
    model = runtime.latest.models[0]
    assert model.throughput_rps == pytest.approx((1200 + 3300) / 3600)
    assert model.error_rate == pytest.approx(300 / 4500)
    assert model.latency_p50_ms == pytest.approx(20.0)
    assert model.series_step_seconds == 30
    assert len(model.throughput_series) == SERIES_POINTS
    assert sum(model.throughput_series) * 30 == pytest.approx(299 * 4 + 3300)


def test_the_24h_range_reads_the_minutes_of_the_day_and_leaves_out_older_and_ahead(tmp_path):
    runtime = day_of_traffic(tmp_path)
    runtime.set_time_range(DAY)
    model = runtime.latest.models[0]
    assert model.predictions_total == 1200 + 3300 + 8274 + 7 + 1
    # Minutes M0-1439 .. M0 (the minute in progress): neither the day-old nor the year-ahead.
    assert model.throughput_rps == pytest.approx((1200 + 3300 + 8274) / DAY)
    assert model.error_rate == pytest.approx((300 + 4137) / (1200 + 3300 + 8274))
    assert model.latency_p50_ms == pytest.approx(30.0)
    assert model.latency_p99_ms == pytest.approx(30.0)
    # 12-minute steps over the complete minutes M0-1440 .. M0-1: up to T0-1.
    assert model.series_step_seconds == 720
    assert len(model.throughput_series) == SERIES_POINTS
    assert sum(model.throughput_series) * 720 == pytest.approx(8274 + 3300 + 269 * 4)
    assert max(model.error_rate_series) == pytest.approx(0.5)


def test_without_a_range_the_snapshots_keep_the_configured_window_and_per_second_series(
        tmp_path):
    runtime = day_of_traffic(tmp_path)
    runtime.set_paused(False)
    model = runtime.latest.models[0]
    assert runtime.latest.time_range_seconds == 60
    # Seconds T0-30 .. T0+30, as the per-second window always counted them.
    assert model.throughput_rps == pytest.approx(61 * 4 / 60)
    assert model.series_step_seconds == 1
    assert len(model.throughput_series) == 60


def test_the_alerting_keeps_the_configured_window_whatever_range_is_shown(tmp_path):
    runtime = day_of_traffic(tmp_path)
    heard: list[Snapshot] = []
    runtime.configured_window.subscribe(heard.append)
    runtime.set_time_range(DAY)
    assert runtime.latest.time_range_seconds == DAY
    assert [s.time_range_seconds for s in heard] == [60]
    assert heard[-1].models[0].throughput_rps == pytest.approx(61 * 4 / 60)
    assert runtime.build_snapshot().time_range_seconds == 60
    assert runtime.build_snapshot().models[0].throughput_rps == pytest.approx(61 * 4 / 60)


class RecordingAlerting:
    """Stands for `Alerting` in the console's feed: hears what the feed hands it."""

    def __init__(self) -> None:
        self.heard: list[Snapshot] = []

    async def run(self, feed: Snapshots, fallback: object) -> None:
        feed.subscribe(self.heard.append)
        await asyncio.Event().wait()


async def test_the_consoles_alerting_hears_the_configured_window_while_24h_is_shown(tmp_path):
    runtime = day_of_traffic(tmp_path)
    alerting = RecordingAlerting()
    feed = AlertingFeed(runtime, alerting)  # type: ignore[arg-type]
    feed.set_time_range(DAY)
    running = asyncio.create_task(feed.run())
    for _ in range(1000):
        if len(alerting.heard) >= 3:
            break
        await asyncio.sleep(0.01)
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert len(alerting.heard) >= 3
    assert {s.time_range_seconds for s in alerting.heard} == {60}
    assert alerting.heard[-1].models[0].throughput_rps == pytest.approx(61 * 4 / 60)
    assert feed.latest.time_range_seconds == DAY


@pytest.mark.parametrize("seconds", [0, -300, 60, 7200, math.nan, math.inf, 300.5])
def test_a_range_other_than_5m_1h_24h_is_refused(tmp_path, seconds):
    runtime = Runtime(settings(tmp_path), [])
    with pytest.raises(ValueError, match="time range"):
        runtime.set_time_range(seconds)
    assert runtime.latest.time_range_seconds == 60


def test_records_ingested_while_paused_show_on_resume_over_the_range_chosen_meanwhile(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW)
    runtime.ingest(IngestBatch(make_batch(np.full(10, T0))))
    runtime.set_paused(False)
    runtime.set_paused(True)
    runtime.set_time_range(3600)
    runtime.ingest(IngestBatch(make_batch(np.full(20, T0 - 1800))))
    frozen = runtime.latest
    assert frozen.paused and frozen.time_range_seconds == 60
    assert frozen.models[0].predictions_total == 10
    runtime.set_paused(False)
    model = runtime.latest.models[0]
    assert runtime.latest.time_range_seconds == 3600
    assert model.predictions_total == 30
    # The stream is younger than the hour: its rate is over the 1,830.5 s since its first.
    assert model.throughput_rps == pytest.approx(30 / 1830.5)


def test_the_minute_history_stays_the_same_size_after_days_of_records():
    state = ModelState("m", "1")
    before = state._minutes.nbytes
    for day in range(3):
        state.ingest(make_batch(np.arange(T0 + day * DAY, T0 + (day + 1) * DAY, 5.0)))
    assert state._minutes.nbytes == before == MinuteHistory().nbytes
    assert before < 40_000


async def test_t_cycles_5m_1h_24h_and_the_status_line_says_the_range():
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        said = []
        for _ in range(4):
            await pilot.press("t")
            await pilot.pause()
            said.append(rendered(pilot.app, pilot.app.screen.query_one(StatusLine)))
        assert feed.time_range_calls == [300, 3600, DAY, 300]
        assert ["last 5m" in said[0], "last 1h" in said[1], "last 24h" in said[2],
                "last 5m" in said[3]] == [True] * 4


async def test_t_pressed_100_times_in_a_row_lands_on_the_range_the_cycle_says():
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press(*["t"] * 100)
        await pilot.pause()
        assert feed.time_range_calls == [300, 3600, DAY] * 33 + [300]
        assert "last 5m" in rendered(pilot.app, pilot.app.screen.query_one(StatusLine))


async def test_the_panel_says_the_range_its_figures_cover(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW)
    runtime.ingest(IngestBatch(make_batch(np.full(10, T0), model="churn")))
    async with NeuralTuiApp(runtime).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "last 1m" in rendered(pilot.app, panel_named(pilot.app, "churn"))
        await pilot.press("t", "t")
        await pilot.pause()
        panel = rendered(pilot.app, panel_named(pilot.app, "churn"))
        assert "last 1h" in panel
        assert "Drift and quality still judge each model's newest 1,000 records" in (
            " ".join(str(n.message) for n in pilot.app._notifications))


async def test_t_while_paused_says_the_new_range_shows_on_resume():
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert "on resume" not in str(list(pilot.app._notifications)[-1].message)
        await pilot.press("p", "t")
        await pilot.pause()
        assert "Paused: shown on resume." in str(list(pilot.app._notifications)[-1].message)


async def test_p_freezes_the_panel_and_resume_shows_the_records_read_meanwhile(tmp_path):
    runtime = Runtime(settings(tmp_path), [], clock=lambda: NOW)
    runtime.ingest(IngestBatch(make_batch(np.full(10, T0), model="churn")))
    async with NeuralTuiApp(runtime).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        runtime.ingest(IngestBatch(make_batch(np.full(25, T0 + 1), model="churn")))
        await asyncio.sleep(0.05)
        await pilot.pause()
        frozen = rendered(pilot.app, panel_named(pilot.app, "churn"))
        assert "10 predictions" in frozen
        assert "PAUSED" in rendered(pilot.app, pilot.app.screen.query_one(StatusLine))
        await pilot.press("p")
        await pilot.pause()
        assert "35 predictions" in rendered(pilot.app, panel_named(pilot.app, "churn"))


def test_the_minute_history_forgets_minutes_older_than_a_day_and_takes_late_ones_within_it():
    history = MinuteHistory()
    minute = int(T0) // 60 * 60
    one = np.ones(1, dtype=np.int64)
    history.add(np.array([minute]), one * 5, one * 2)
    history.add(np.array([minute + DAY - 60]), one * 7, one * 0)
    history.add(np.array([minute + 30]), one * 3, one * 1)  # late, same minute
    history.add(np.array([minute - 60]), one * 100, one * 100)  # a day and a minute before
    assert history.totals(minute + DAY - 1, DAY) == (15, 3)
    # A day and a minute later, the first minute's slot holds the newest: it is forgotten.
    history.add(np.array([minute + DAY + 60]), one * 1, one * 0)
    assert history.totals(minute + DAY + 119, DAY + 120) == (8, 0)
