"""How often the console redraws (`[console] refresh_seconds`, `--refresh`): at most once per
interval whatever the feed publishes, always ending on the newest snapshot, and a panel whose
figures did not change is not touched."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from console_view import panel_named
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed
from textual.widgets import Label

from neural_tui.app.app import NeuralTuiApp
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.screens.overview import OverviewScreen

REFRESH_SECONDS = 1.0


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Snapshot]:
    """Every snapshot the overview draws, in order."""
    drawn: list[Snapshot] = []
    draw = OverviewScreen.show

    def counting(screen: OverviewScreen, snap: Snapshot) -> None:
        drawn.append(snap)
        draw(screen, snap)

    monkeypatch.setattr(OverviewScreen, "show", counting)
    return drawn


def total(snap: Snapshot) -> int:
    return snap.models[0].predictions_total


def numbered(count: int) -> Snapshot:
    """A snapshot told apart from the others by its record count."""
    return snapshot(model_snapshot("churn", predictions_total=count), records_total=count)


async def test_snapshots_within_one_interval_are_drawn_once_when_it_ends_the_newest_only(
    shown: list[Snapshot],
) -> None:
    feed = FakeFeed(numbered(0))
    async with NeuralTuiApp(feed, refresh_seconds=REFRESH_SECONDS).run_test() as pilot:
        await pilot.pause()
        shown.clear()
        for count in range(1, 21):
            feed.publish(numbered(count))
        await pilot.pause()
        assert [total(s) for s in shown] == [20]
        for count in range(21, 41):
            feed.publish(numbered(count))
            await pilot.pause()
        assert [total(s) for s in shown] == [20]
        await pilot.pause(REFRESH_SECONDS * 1.5)
        assert [total(s) for s in shown] == [20, 40]


async def test_twenty_snapshots_a_second_draw_about_once_a_second_ending_on_the_newest(
    shown: list[Snapshot],
) -> None:
    feed = FakeFeed(numbered(0))
    async with NeuralTuiApp(feed, refresh_seconds=REFRESH_SECONDS).run_test() as pilot:
        await pilot.pause()
        shown.clear()
        for count in range(1, 51):
            feed.publish(numbered(count))
            await asyncio.sleep(0.05)
        await pilot.pause(REFRESH_SECONDS * 1.5)
        assert 2 <= len(shown) <= 4, [total(s) for s in shown]
        assert total(shown[-1]) == 50


async def test_without_a_refresh_interval_every_snapshot_is_drawn(
    shown: list[Snapshot],
) -> None:
    feed = FakeFeed(numbered(0))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        shown.clear()
        for count in range(1, 4):
            feed.publish(numbered(count))
            await pilot.pause()
        assert [total(s) for s in shown] == [1, 2, 3]


async def test_a_panel_whose_figures_did_not_change_is_not_updated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = numbered(7)
    feed = FakeFeed(first)
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        totals = panel_named(pilot.app, "churn").query_one("#totals", Label)
        updates: list[Any] = []
        update = totals.update
        monkeypatch.setattr(totals, "update", lambda *a, **k: (updates.append(a), update(*a, **k)))

        feed.publish(replace(first, generated_at=first.generated_at + 1.0))
        await pilot.pause()
        assert updates == []

        feed.publish(numbered(8))
        await pilot.pause()
        assert len(updates) == 1
        assert "8 predictions" in str(updates[0][0])


async def test_pausing_shows_at_once_whatever_the_refresh_interval(
    shown: list[Snapshot],
) -> None:
    feed = FakeFeed(numbered(0))
    async with NeuralTuiApp(feed, refresh_seconds=60.0).run_test() as pilot:
        feed.publish(numbered(1))
        await pilot.pause()
        shown.clear()
        await pilot.press("p")
        await pilot.pause()
        assert [s.paused for s in shown] == [True]


async def drawn_after_key_with_a_redraw_waiting(shown: list[Snapshot], key: str
                                                 ) -> list[Snapshot]:
    """What the overview draws when `key` is pressed while snapshot 2 waits for a redraw
    (refresh 60 s, snapshot 1 drawn just before)."""
    feed = FakeFeed(numbered(0))
    async with NeuralTuiApp(feed, refresh_seconds=60.0).run_test() as pilot:
        feed.publish(numbered(1))
        await pilot.pause()
        feed.publish(numbered(2))
        await pilot.pause()
        shown.clear()
        await pilot.press(key)
        await pilot.pause()
        return list(shown)


async def test_pausing_shows_at_once_even_with_a_redraw_already_waiting(
    shown: list[Snapshot],
) -> None:
    drawn = await drawn_after_key_with_a_redraw_waiting(shown, "p")
    assert [(s.paused, total(s)) for s in drawn] == [(True, 2)]


async def test_a_new_time_range_shows_at_once_whatever_the_refresh_interval(
    shown: list[Snapshot],
) -> None:
    drawn = await drawn_after_key_with_a_redraw_waiting(shown, "t")
    assert [s.time_range_seconds for s in drawn] == [300.0]
