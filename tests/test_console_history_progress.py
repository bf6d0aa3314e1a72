"""The overview's progress bar while the history on disk at start is read: the share, records,
records/s and time left in ASCII; gone once the snapshot is caught up."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from console_view import rendered, screen_text
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed

from neural_tui.app.app import NeuralTuiApp
from neural_tui.runtime.snapshot import HistoryProgress, Snapshot
from neural_tui.widgets.history_progress import LISTING, HistoryProgressBar

READING = HistoryProgress(412, 1_000, 412_000, 180_000.0, 2.5)


def catching_up(history: HistoryProgress | None = READING) -> Snapshot:
    return replace(snapshot(model_snapshot("fraud"), records_total=412_000),
                   catching_up=True, history=history)


async def test_the_overview_shows_the_history_read_with_rate_and_time_left() -> None:
    async with NeuralTuiApp(FakeFeed(catching_up())).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        bar = pilot.app.screen.query_one(HistoryProgressBar)
        assert bar.display
        text = rendered(pilot.app, bar)
        assert "History [########------------]" in text
        assert "41 % (412,000 records, 180,000/s, ~3 s left)" in text
        assert text.isascii()


async def test_the_bar_says_it_lists_the_storage_before_the_first_scan() -> None:
    async with NeuralTuiApp(FakeFeed(catching_up(None))).run_test() as pilot:
        await pilot.pause()
        assert LISTING in screen_text(pilot.app)


async def test_the_bar_is_gone_once_caught_up() -> None:
    feed = FakeFeed(catching_up())
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "412,000 records, 180,000/s" in screen_text(pilot.app)
        feed.publish(snapshot(model_snapshot("fraud"), records_total=412_000))
        await pilot.pause()
        assert not pilot.app.screen.query_one(HistoryProgressBar).display
        assert "180,000/s" not in screen_text(pilot.app)


async def test_a_console_that_was_never_catching_up_shows_no_bar() -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(model_snapshot("fraud")))).run_test() as pilot:
        await pilot.pause()
        assert not pilot.app.screen.query_one(HistoryProgressBar).display


def test_the_overview_while_catching_up_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(NeuralTuiApp(FakeFeed(catching_up())), terminal_size=(80, 24))
