"""Drill-down screens are kept built after they close, so opening one again costs a repaint:
the kept screen shows the latest snapshot, and only the most recent few are kept."""

from __future__ import annotations

from console_view import screen_text
from factories import drifting_model, snapshot
from fake_feed import FakeFeed

from neural_tui.app.app import KEPT_DRILL_DOWNS, NeuralTuiApp
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.drill_down import DrillDownScreen


async def test_opening_a_drill_down_again_shows_the_kept_screen_caught_up() -> None:
    feed = FakeFeed(snapshot(drifting_model("alpha", version="1.0")))
    async with NeuralTuiApp(feed).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        first = pilot.app.screen
        assert isinstance(first, DriftScreen)
        await pilot.press("escape")
        await pilot.pause()
        feed.publish(snapshot(drifting_model("alpha", version="2.0")))
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert pilot.app.screen is first
        assert "alpha · 2.0 · drift" in screen_text(pilot.app)


async def test_only_the_most_recently_opened_drill_downs_are_kept() -> None:
    names = [f"model-{i}" for i in range(KEPT_DRILL_DOWNS + 2)]
    feed = FakeFeed(snapshot(*(drifting_model(name) for name in names)))
    async with NeuralTuiApp(feed).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        opened: list[DrillDownScreen] = []
        for index in range(len(names)):
            pilot.app.open_drill_down(names[index], "drift")
            await pilot.pause()
            screen = pilot.app.screen
            assert isinstance(screen, DrillDownScreen) and screen.uid == names[index]
            opened.append(screen)
            await pilot.press("escape")
            await pilot.pause()
        kept = [pilot.app.is_screen_installed(screen) for screen in opened]
        assert kept == [False] * 2 + [True] * KEPT_DRILL_DOWNS
        assert not any(screen.is_attached for screen in opened[:2])
