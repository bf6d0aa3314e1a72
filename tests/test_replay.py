"""Replay: stored records played through the same runtime on a faster clock; alerts shown,
never sent; the replay keys; an idle panel that says since when and offers `r replay`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from console_view import screen_lines, screen_text
from factories import FIXED_TIME, model_snapshot, snapshot
from fake_feed import FakeFeed
from tail_lines import append, record
from textual.pilot import Pilot

from neural_tui import cli, console
from neural_tui.alerts.service import ShownAlerting
from neural_tui.app.app import NeuralTuiApp, ReplayRequest
from neural_tui.config import load_settings
from neural_tui.console import replay_app, replay_command
from neural_tui.errors import UsageError
from neural_tui.records import IngestBatch
from neural_tui.reports import load_runtime
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.replay_clock import MAX_SPEED, MIN_SPEED, ReplayClock
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.sources import replay as replay_module
from neural_tui.sources.replay import ReplaySource, StoredRecords
from neural_tui.widgets.breadcrumb import SEPARATOR
from neural_tui.widgets.model_panel import IDLE_CLASS, ModelPanel
from neural_tui.widgets.replay_bar import ReplayBar, replay_status

T0 = 1_700_000_000.0
"""The first record's time in `tail_lines.record`."""


class FakeWall:
    """A wall clock moved by hand."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


# --- the clock ------------------------------------------------------------------------------

def test_record_time_runs_from_the_start_at_speed_times_the_wall_clock() -> None:
    wall = FakeWall()
    clock = ReplayClock(1000.0, speed=60.0, wall=wall)
    assert clock() == 1000.0
    wall.now += 2.0
    assert clock() == 1120.0


def test_a_paused_clock_stands_and_a_step_advances_one_cadence_times_the_speed() -> None:
    wall = FakeWall()
    clock = ReplayClock(1000.0, speed=60.0, cadence_seconds=0.5, wall=wall)
    wall.now += 1.0
    clock.set_paused(True)
    wall.now += 100.0
    assert clock() == 1060.0
    clock.step()
    assert clock() == 1090.0
    clock.set_paused(False)
    wall.now += 1.0
    assert clock() == 1150.0


def test_a_new_speed_applies_from_the_moment_it_is_set_never_moving_time_back() -> None:
    wall = FakeWall()
    clock = ReplayClock(0.0, speed=10.0, wall=wall)
    wall.now += 3.0
    clock.faster()
    assert clock.speed == 20.0
    assert clock() == 30.0
    wall.now += 1.0
    assert clock() == 50.0
    clock.slower()
    clock.slower()
    wall.now += 1.0
    assert clock() == 55.0


def test_the_speed_stays_within_its_bounds() -> None:
    clock = ReplayClock(0.0, speed=MAX_SPEED, wall=FakeWall())
    clock.faster()
    assert clock.speed == MAX_SPEED
    clock.set_speed(0.0)
    assert clock.speed == MIN_SPEED
    clock.set_speed(math.nan)
    assert clock.speed == MIN_SPEED
    with pytest.raises(ValueError, match="speed"):
        ReplayClock(0.0, speed=MAX_SPEED * 2, wall=FakeWall())


def test_the_clock_stops_at_the_end_of_the_range_and_stays_stopped_once_finished() -> None:
    wall = FakeWall()
    clock = ReplayClock(0.0, speed=100.0, end=250.0, wall=wall)
    wall.now += 10.0
    assert clock() == 250.0
    clock.finish()
    clock.set_paused(False)
    wall.now += 10.0
    assert clock.paused and clock.finished and clock() == 250.0


def test_the_replay_status_says_speed_record_time_and_state() -> None:
    wall = FakeWall()
    start = 1_796_047_390.0  # 2026-11-30 14:03:10 UTC
    clock = ReplayClock(start, speed=60.0, wall=wall)
    assert replay_status(clock) == "REPLAY 60x · 2026-11-30 14:03:10 UTC · playing"
    clock.set_paused(True)
    assert replay_status(clock).endswith("· paused")
    clock.finish()
    assert replay_status(clock).endswith("· replay finished")


# --- reading the storage in record-time order -----------------------------------------------

def interleaved_storage(storage: Path, n: int = 40, *, out_of_order: bool = True) -> None:
    """Two files whose records alternate in time (a: even seconds, b: odd), b written a little
    out of order within itself (two neighbours swapped) unless not `out_of_order`."""
    folder = storage / "predictions"
    folder.mkdir(parents=True)
    append(folder / "a.jsonl", *(record(i) for i in range(0, n, 2)))
    odd = list(range(1, n, 2))
    if out_of_order:
        odd[2], odd[3] = odd[3], odd[2]
    append(folder / "b.jsonl", *(record(i) for i in odd))


def all_rows(records: StoredRecords, until: float = math.inf) -> list[IngestBatch]:
    return records.take_until(until, max_rows=10**9)


def times(batches: list[IngestBatch]) -> list[float]:
    return [t for batch in batches for t in batch.records.timestamp.tolist()]


def test_records_of_interleaved_files_come_in_record_time_order(tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    played = times(all_rows(StoredRecords(tmp_path)))
    assert played == [T0 + i for i in range(40)]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Chunks of about three lines, so a file takes many reads."""
    size = 3 * (len(json.dumps(record(10))) + 1)
    monkeypatch.setattr(replay_module, "CHUNK_BYTES", size)
    yield size


def test_files_are_read_a_bounded_chunk_at_a_time_and_still_merged_in_order(
        tmp_path: Path, small_chunks: int) -> None:
    interleaved_storage(tmp_path, n=200, out_of_order=False)
    records = StoredRecords(tmp_path)
    played: list[float] = []
    for until in [*np.arange(T0, T0 + 200, 7.5).tolist(), math.inf]:
        played += times(all_rows(records, until))
        assert all(len(cursor.rows) <= 4 for cursor in records._cursors)
    assert played == [T0 + i for i in range(200)]


def test_thousands_of_small_files_read_to_their_end_are_merged_in_one_batch(
        tmp_path: Path) -> None:
    """A file read to its end holds nothing later back: 10,000 one-line files used to be played
    one row per pass over every file, which took minutes."""
    folder = tmp_path / "predictions"
    folder.mkdir()
    for index in range(300):
        append(folder / f"{index:05d}.jsonl", record(299 - index))
    batches = StoredRecords(tmp_path).take_until(math.inf)
    assert [len(batch.records) for batch in batches] == [300]
    assert times(batches) == [T0 + i for i in range(300)]


def test_a_file_whose_time_has_not_come_holds_no_rows(tmp_path: Path) -> None:
    """Rotated files of past days: only the one being played is read."""
    folder = tmp_path / "predictions"
    folder.mkdir()
    for day in range(3):
        append(folder / f"day{day}.jsonl", *(record(day * 1000 + i) for i in range(50)))
    records = StoredRecords(tmp_path)
    assert times(all_rows(records, T0 + 49)) == [T0 + i for i in range(50)]
    assert [len(cursor.rows) for cursor in records._cursors] == [0, 0, 0]
    assert times(all_rows(records, T0 + 1010)) == [T0 + 1000 + i for i in range(11)]
    assert [len(cursor.rows) > 0 for cursor in records._cursors] == [False, True, False]


def test_a_line_longer_than_any_record_is_skipped_without_holding_it(
        tmp_path: Path, small_chunks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "MAX_LINE_BYTES", 4 * small_chunks)
    folder = tmp_path / "predictions"
    folder.mkdir()
    huge = json.dumps(record(1, metadata="x" * (40 * small_chunks)))
    append(folder / "a.jsonl", record(0), huge, record(2), record(3))
    batches = all_rows(StoredRecords(tmp_path))
    assert times(batches) == [T0, T0 + 2, T0 + 3]
    assert sum(batch.skipped["too_long"] for batch in batches) == 1


def test_a_line_longer_than_a_chunk_but_within_the_limit_is_played(
        tmp_path: Path, small_chunks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replay_module, "MAX_LINE_BYTES", 4 * small_chunks)
    folder = tmp_path / "predictions"
    folder.mkdir()
    long = json.dumps(record(1, prediction="y" * (2 * small_chunks)))
    append(folder / "a.jsonl", record(0), long, record(2))
    assert times(all_rows(StoredRecords(tmp_path))) == [T0, T0 + 1, T0 + 2]


def test_only_rows_due_by_the_clock_are_played(tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    records = StoredRecords(tmp_path)
    assert times(all_rows(records, T0 + 9.5)) == [T0 + i for i in range(10)]
    assert times(all_rows(records, T0 + 9.5)) == []
    assert times(all_rows(records, T0 + 12)) == [T0 + 10, T0 + 11, T0 + 12]


def test_the_last_record_time_is_read_from_the_end_of_each_file_alone(
        tmp_path: Path, small_chunks: int) -> None:
    interleaved_storage(tmp_path, n=100)
    assert StoredRecords(tmp_path).last_time() == T0 + 99


def test_rows_before_from_are_left_out(tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    records = StoredRecords(tmp_path, start=T0 + 30)
    assert records.next_time() == T0 + 30
    assert times(all_rows(records)) == [T0 + i for i in range(30, 40)]


def test_a_big_step_comes_as_batches_of_bounded_size(tmp_path: Path, small_chunks: int) -> None:
    interleaved_storage(tmp_path, n=100, out_of_order=False)
    records = StoredRecords(tmp_path)
    first = records.take_until(math.inf, max_rows=10)
    assert 10 <= sum(len(batch.records) for batch in first) < 20
    rest = all_rows(records)
    assert times(first) + times(rest) == [T0 + i for i in range(100)]


def test_skipped_lines_are_counted_and_a_last_line_without_newline_waits(tmp_path: Path) -> None:
    folder = tmp_path / "predictions"
    folder.mkdir()
    append(folder / "a.jsonl", record(0), "not json", record(1))
    append(folder / "a.jsonl", record(2), newline=False)
    batches = all_rows(StoredRecords(tmp_path))
    assert times(batches) == [T0, T0 + 1]
    assert sum(batch.skipped["not_json"] for batch in batches) == 1


def play(source: ReplaySource) -> list[IngestBatch]:
    async def collect() -> list[IngestBatch]:
        return [batch async for batch in source.batches()]

    return asyncio.run(asyncio.wait_for(collect(), 30))


def test_the_source_plays_to_the_end_of_the_range_then_says_it_finished(tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    finished: list[bool] = []
    source = ReplaySource(StoredRecords(tmp_path, start=T0 + 5), lambda: math.inf,
                          end=T0 + 14, on_finished=lambda: finished.append(True))
    assert times(play(source)) == [T0 + i for i in range(5, 15)]
    assert finished == [True]


# --- the engines see what a live read sees --------------------------------------------------

def drifting_records(indices: range) -> list[dict[str, object]]:
    """Four records a second; from the 600th on the inputs drift and more requests fail."""
    return [record(i, timestamp=T0 + i / 4,
                   input_features={"x": float(i % 17) + (9.0 if i >= 600 else 0.0),
                                   "colour": "blue" if i >= 600 else "red"},
                   latency_ms=5.0 + i % 7,
                   error="timeout" if i >= 600 and i % 5 == 0 else None)
            for i in indices]


def drifting_storages(live: Path, stored: Path) -> None:
    """The same records as written live (one file, in time order) and as two servers stored
    them (two files, each holding every other record)."""
    (live / "predictions").mkdir(parents=True)
    append(live / "predictions" / "all.jsonl", *drifting_records(range(1200)))
    (stored / "predictions").mkdir(parents=True)
    append(stored / "predictions" / "a.jsonl", *drifting_records(range(0, 1200, 2)))
    append(stored / "predictions" / "b.jsonl", *drifting_records(range(1, 1200, 2)))


def test_a_replay_gives_the_figures_and_drift_a_live_read_of_the_same_records_gives(
        tmp_path: Path) -> None:
    """The reference (the first rows) and the window (the newest) are the rows of record
    time, so a replay of two files merged by time sees what the live read saw."""
    drifting_storages(tmp_path / "live", tmp_path / "stored")
    config = tmp_path / "neural-tui.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "live"}"\n[drift]\nwindow = 300\n'
                      "reference_rows = 300\n[runtime]\nwindow_seconds = 60\n")
    settings = load_settings(config)
    live = load_runtime(settings)
    end = live.clock()
    replayed = Runtime(settings, [], clock=lambda: end)
    for batch in all_rows(StoredRecords(tmp_path / "stored")):
        replayed.ingest(batch)
    for runtime in (live, replayed):
        for key, state in runtime.states.items():
            runtime.analysis.analyse_now(key, state)
    (expected,), (got,) = live.build_snapshot().models, replayed.build_snapshot().models
    assert got.predictions_total == expected.predictions_total == 1200
    assert got.throughput_rps == expected.throughput_rps
    assert got.error_rate == expected.error_rate > 0
    assert got.latency_p95_ms == expected.latency_p95_ms
    assert got.drift is not None and expected.drift is not None
    assert got.drift.dataset_drift and expected.drift.dataset_drift
    assert ([(f.name, f.statistic, f.p_value, f.drifted) for f in got.drift.features]
            == [(f.name, f.statistic, f.p_value, f.drifted) for f in expected.drift.features])


def panels_shown(app: NeuralTuiApp) -> bool:
    """Whether the overview shows a panel for every model (mounted, so quitting is safe)."""
    shown = [panel for panel in app.screen.query(ModelPanel) if panel.is_mounted]
    return bool(app.snapshot.models) and len(shown) == len(app.snapshot.models)


# --- alerts shown, never sent ---------------------------------------------------------------

ALERTING_CONFIG = """
[storage]
path = "{storage}"
[runtime]
cadence_seconds = 0.1
window_seconds = 60
[alerts]
group_wait = "0s"
group_interval = "1s"
[alerts.channels.log]
type = "file"
path = "{pages}"
[[alerts.rules]]
name = "errors"
when = "error_rate > 0.1"
severity = "critical"
channels = ["log"]
summary = "{{{{model}}}} fails {{{{error_rate}}}} of requests"
"""


def failing_storage(storage: Path) -> None:
    folder = storage / "predictions"
    folder.mkdir(parents=True)
    append(folder / "a.jsonl", *(record(i, error="boom" if i % 2 else None)
                                 for i in range(600)))


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool],
                     seconds: float = 30.0) -> None:
    """Let the app run until `condition()` holds (fails the test after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the condition never held")


async def test_a_replay_shows_its_alerts_but_sends_none_and_writes_nothing(
        tmp_path: Path) -> None:
    storage, pages = tmp_path / "storage", tmp_path / "pages.jsonl"
    failing_storage(storage)
    config = tmp_path / "neural-tui.toml"
    config.write_text(ALERTING_CONFIG.format(storage=storage, pages=pages))
    before = sorted(p.relative_to(storage) for p in storage.rglob("*"))
    app = replay_app(load_settings(config), storage, speed=1000.0)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.replay is not None and app.replay.finished)
        await wait_until(pilot, lambda: any(e.state == "firing"
                                            for e in app.alerts_view.current))
        await pilot.pause(1.5)
        assert app.alert_commands is None
    assert not pages.exists()
    assert sorted(p.relative_to(storage) for p in storage.rglob("*")) == before


def test_the_shown_only_alerting_has_no_delivery_and_writes_no_state(tmp_path: Path) -> None:
    alerting = ShownAlerting(load_settings(None), tmp_path)
    assert alerting.engine.delivery is None
    assert alerting.engine.writes_state is False


# --- the console's replay keys --------------------------------------------------------------

async def test_p_pauses_n_steps_and_plus_minus_change_the_speed_of_the_replay(
        tmp_path: Path) -> None:
    interleaved_storage(tmp_path, n=400)
    app = replay_app(load_settings(None), tmp_path, speed=1.0)
    async with app.run_test() as pilot:
        clock = app.replay
        assert isinstance(clock, ReplayClock)
        await pilot.press("p")
        assert clock.paused
        stood = clock()
        await pilot.pause(0.2)
        assert clock() == stood
        await pilot.press("n")
        assert clock() == stood + clock.cadence_seconds * 1.0
        await pilot.press("plus", "plus")
        assert clock.speed == 4.0
        await pilot.press("minus")
        assert clock.speed == 2.0
        app.screen.query_one(ReplayBar).refresh_status()
        await pilot.pause()
        assert "REPLAY 2x" in screen_text(app) and "paused" in screen_text(app)
        await pilot.press("p")
        assert not clock.paused


async def test_help_in_a_replay_says_what_each_replay_key_does(tmp_path: Path) -> None:
    interleaved_storage(tmp_path, n=400)
    app = replay_app(load_settings(None), tmp_path, speed=1.0)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        lines = screen_lines(app)
        for key, description in [("n", "Replay: step one cadence"),
                                 ("+", "Replay twice as fast"), ("-", "Replay half as fast")]:
            assert any(f"{key} " in line and description in line for line in lines), key
        assert not any("Quit the app and return to the" in line for line in lines), (
            "Textual's own tooltips, longer than the help's column, are not used")


async def test_the_end_of_the_range_says_replay_finished(tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    app = replay_app(load_settings(None), tmp_path, speed=MAX_SPEED)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: app.replay is not None and app.replay.finished)
        await wait_until(pilot, lambda: app.snapshot.ingest.records_total == 40)
        await wait_until(pilot, lambda: panels_shown(app))
        await pilot.pause(0.5)
        assert app.replay() == T0 + 39
        assert "replay finished" in screen_text(app)
        assert "idle" not in screen_text(app)


async def test_the_replay_keys_do_nothing_outside_a_replay() -> None:
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn"))))
    async with app.run_test() as pilot:
        await pilot.press("n", "plus", "minus")
        assert app.check_action("replay_step", ()) is False
        assert "REPLAY" not in screen_text(app)


async def test_a_replay_names_unnamed_records_by_the_monitor_config_of_its_storage(
        tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    (tmp_path / "monitor_config.json").write_text('{"model_name": "fraud"}')
    app = replay_app(load_settings(None), tmp_path, speed=MAX_SPEED)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: panels_shown(app))
        assert [model.name for model in app.snapshot.models] == ["fraud"]


def test_a_replay_of_nothing_is_refused_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "predictions").mkdir()
    with pytest.raises(UsageError, match="no records in"):
        replay_app(load_settings(None), tmp_path)
    interleaved_storage(tmp_path / "other")
    with pytest.raises(UsageError, match="between --from and --to"):
        replay_app(load_settings(None), tmp_path / "other", start=T0 + 1000)
    with pytest.raises(UsageError, match="--to: before --from"):
        replay_app(load_settings(None), tmp_path / "other", start=T0 + 10, end=T0)


# --- an idle panel --------------------------------------------------------------------------

def idle_app(*, offers_replay: bool) -> NeuralTuiApp:
    quiet = model_snapshot("churn", last_record_at=FIXED_TIME - 3 * 3600, throughput_rps=0.0)
    return NeuralTuiApp(FakeFeed(snapshot(quiet)), offers_replay=offers_replay)


async def test_an_idle_model_says_since_when_and_offers_a_replay() -> None:
    app = idle_app(offers_replay=True)
    async with app.run_test() as pilot:
        await pilot.pause()
        panel = app.screen.query_one(ModelPanel)
        assert panel.has_class(IDLE_CLASS)
        text = screen_text(app)
        assert "idle, newest record 3h ago · r replay" in text
        assert "0.0 rps" not in text


async def test_r_on_an_idle_panel_leaves_to_replay_its_last_hour() -> None:
    app = idle_app(offers_replay=True)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("r")
    assert app.return_value == ReplayRequest(FIXED_TIME - 4 * 3600, "churn")


async def test_a_console_that_cannot_replay_shows_idle_without_the_offer() -> None:
    app = idle_app(offers_replay=False)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("r")
        assert app.is_running
        text = screen_text(app)
        assert "idle, newest record 3h ago" in text and "r replay" not in text


async def test_a_model_with_recent_records_is_not_idle() -> None:
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn"))), offers_replay=True)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert not app.screen.query_one(ModelPanel).has_class(IDLE_CLASS)
        assert "idle" not in screen_text(app)


def test_the_replay_command_names_the_storage_and_the_start(tmp_path: Path) -> None:
    storage = tmp_path / "my data"
    assert replay_command(storage, 1_796_047_390.0) == (
        f"neural-tui --replay --storage '{storage}' --from 2026-11-30T14:03:10Z")


def test_the_replay_command_keeps_the_config_the_console_was_opened_with(tmp_path: Path) -> None:
    """Its window, reference and rules shape what the replay shows: the same command."""
    storage, config = tmp_path / "data", tmp_path / "my neural-tui.toml"
    assert replay_command(storage, 1_796_047_390.0, config=config) == (
        f"neural-tui --config '{config}' --replay --storage {storage} "
        "--from 2026-11-30T14:03:10Z")


# --- the command line -----------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "message"), [
    (["--replay", "--speed", "0"], "--speed '0': must be a number from 0.1 to 100000"),
    (["--replay", "--speed", "nan"], "--speed 'nan': must be a number"),
    (["--replay", "--speed", "1e400"], "--speed '1e400': must be a number"),
    (["--replay", "--speed", "fast"], "--speed 'fast': must be a number"),
    (["--replay", "--from", "yesterday"],
     "--from 'yesterday': not a time back from now (-3h, -1d12h), an ISO time"),
    (["--replay", "--to", "-99999d"], "--to '-99999d': at most 3650d back"),
    (["--replay", "--from", "9999-12-31T23:59:59-23:59"],
     "--replay: no records in"),
    (["--replay", "--to", "0001-01-01T00:00:00+23:59"], "--replay: no records in"),
    (["--replay", "--from", "\x1b[31m"], "--from"),
    (["--replay", "--from", "9" * 400], "--from '9999999999"),
    (["--replay", "--from", "-99999999d"], "at most 3650d back"),
    (["--replay", "--from", "nan"], "--from 'nan': not a time back from now"),
    (["--replay", "--to", "inf"], "--to 'inf': not a time back from now"),
    (["--replay", "--to", "-inf"], "--to '-inf': not a time back from now"),
    (["--replay", "--from", ""], "--from '': not a time back from now"),
    (["--replay", "--from", "1e309"], "--from '1e309': not a time back from now"),
    (["--replay", "--from", "1700000030", "--to", "1700000010"], "--to: before --from"),
    (["--replay", "--speed", "-1"], "--speed '-1': must be a number"),
    (["--replay", "--speed", "1e308"], "--speed '1e308': must be a number"),
    (["--speed", "10"], "--speed: only with --replay"),
    (["--from", "-3h"], "--from: only with --replay"),
    (["--replay", "--serve-metrics"], "--replay: not with --serve-metrics"),
    (["--replay", "--demo"], "--replay: not with --demo"),
    (["--replay", "--target", "http://127.0.0.1:9/metrics"], "--replay: not with --target"),
    (["--replay", "status"], "--replay: not with a subcommand"),
])
def test_bad_replay_flags_exit_2_with_one_line_naming_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
        message: str) -> None:
    interleaved_storage(tmp_path)
    assert cli.main(["--storage", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert "\x1b" not in err


@pytest.mark.parametrize(("text", "expected"), [
    ("-3h", 100_000.0 - 3 * 3600),
    ("3h", 100_000.0 - 3 * 3600),
    ("2026-11-30T14:03:10Z", 1_796_047_390.0),
    ("2026-11-30T14:03:10", 1_796_047_390.0),
    ("2026-11-30T15:03:10+01:00", 1_796_047_390.0),
    ("90000", 90_000.0),
])
def test_a_replay_time_is_iso_unix_seconds_or_back_from_now(text: str, expected: float) -> None:
    assert cli.replay_time("--from", text, 100_000.0) == expected


def test_the_replay_flags_reach_the_replay(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    interleaved_storage(tmp_path)
    asked: dict[str, object] = {}

    def fake_open_replay(settings: object, storage: Path, **kwargs: object) -> int:
        asked.update(storage=storage, **kwargs)
        return 0

    monkeypatch.setattr("neural_tui.console.open_replay", fake_open_replay)
    assert cli.main(["--storage", str(tmp_path), "--replay", "--speed", "600", "--from",
                     str(T0 + 5), "--to", "2023-11-14T22:14:00Z"]) == 0
    assert asked == {"storage": tmp_path, "start": T0 + 5, "end": 1_700_000_040.0,
                     "speed": 600.0}


def test_a_console_left_with_a_replay_request_opens_the_replay_of_its_storage(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class LeavesToReplay:
        def run(self) -> ReplayRequest:
            return ReplayRequest(T0 + 5, "churn")

    asked: dict[str, object] = {}

    def fake_open_replay(settings: object, storage: Path, **kwargs: object) -> int:
        asked.update(storage=storage, **kwargs)
        return 0

    neural_log, root = logging.getLogger("neural_tui"), logging.getLogger()
    monkeypatch.setattr(neural_log, "propagate", neural_log.propagate)
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(console, "console_app", lambda *args, **kwargs: LeavesToReplay())
    monkeypatch.setattr(console, "open_replay", fake_open_replay)
    config = tmp_path / "neural-tui.toml"
    config.write_text(f'[storage]\npath = "{tmp_path}"\n')
    assert console.open_console(load_settings(config)) == 0
    assert asked["storage"] == tmp_path and asked["start"] == T0 + 5
    command = replay_command(tmp_path, T0 + 5, config=config)
    assert asked["greeting"] == f"replaying churn: {command}"


async def test_the_replay_bar_sits_under_the_breadcrumb_of_the_drill_downs_too(
        tmp_path: Path) -> None:
    interleaved_storage(tmp_path)
    app = replay_app(load_settings(None), tmp_path, speed=10.0)
    async with app.run_test() as pilot:
        await wait_until(pilot, lambda: panels_shown(app))
        await pilot.pause(0.3)
        await pilot.press("d")
        await pilot.pause(0.5)
        assert isinstance(app.screen, DrillDownScreen)
        breadcrumb, bar = screen_text(app).splitlines()[:2]
        assert breadcrumb.strip().startswith(f"Overview{SEPARATOR}")
        assert bar.strip().startswith("REPLAY 10x") and "UTC" in bar
