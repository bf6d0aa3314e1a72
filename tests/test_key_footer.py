"""The footer of every screen shows whole keys only, quit and help always; the keys it leaves
out for want of room are in the help, and a wider terminal shows more of them."""

from __future__ import annotations

from typing import Any

import pytest
from console_view import screen_lines
from factories import FIXED_TIME
from fake_feed import FakeFeed
from look_scenes import SCREENS, alerting, console, fleet, open_view
from textual.screen import Screen
from textual.widgets import Label

from neural_tui import keymap
from neural_tui.app.app import NeuralTuiApp
from neural_tui.runtime.replay_clock import ReplayClock
from neural_tui.widgets.key_footer import KeyFooter

EVERY_SCREEN = (*SCREENS, "latency")


def crowded_console() -> NeuralTuiApp:
    """The most keys a footer may have to show: a replay (step, faster, slower) that offers
    replays, with the alerting, and quit and help rebound to long keys."""
    fake = alerting()
    return NeuralTuiApp(FakeFeed(fleet()), source_label="monitoring_data", alerts=fake.provide,
                        alert_commands=fake, user="dana", offers_replay=True,
                        replay=ReplayClock(FIXED_TIME, speed=60.0),
                        keys={keymap.QUIT: "ctrl+shift+q", keymap.HELP: "f12"})


def footer_screen(app: NeuralTuiApp) -> Screen[Any]:
    """The screen whose footer is on the bottom row: the top one, or the one under a dialog."""
    return next(screen for screen in reversed(app.screen_stack) if screen.query(KeyFooter))


def full_labels(app: NeuralTuiApp) -> dict[str, str]:
    """Each action the footer may show, by its label in full (`key description`)."""
    return {f"{app.get_key_display(active.binding)} {active.binding.description}":
            active.binding.action
            for active in footer_screen(app).active_bindings.values() if active.binding.show}


def labels_read(row: str, labels: set[str]) -> list[str] | None:
    """The footer row read as whole labels, one space apart (None: some text is no label)."""
    text = row.rstrip()
    if not text:
        return []
    for label in sorted(labels, key=len, reverse=True):
        if text == label:
            return [label]
        if text.startswith(label + " "):
            rest = labels_read(text[len(label) + 1:], labels)
            if rest is not None:
                return [label, *rest]
    return None


def footer_actions(app: NeuralTuiApp) -> list[str]:
    """The actions of the labels on the bottom row, which must be whole labels only."""
    labels = full_labels(app)
    row = screen_lines(app)[-1]
    shown = labels_read(row, set(labels))
    assert shown is not None, f"a label is cut in {row!r}"
    return [labels[label] for label in shown]


@pytest.mark.parametrize("view", EVERY_SCREEN)
async def test_at_80x24_every_screen_shows_whole_keys_quit_and_help(view: str) -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, view)
        actions = footer_actions(app)
        assert "quit" in actions and "help" in actions


@pytest.mark.parametrize("view", ["overview", "drift", "alerts"])
@pytest.mark.parametrize("width", [80, 40])
async def test_the_most_keys_rebound_long_still_show_whole_with_quit_and_help(
        view: str, width: int) -> None:
    app = crowded_console()
    async with app.run_test(size=(width, 24)) as pilot:
        await open_view(pilot, view)
        actions = footer_actions(app)
        assert "quit" in actions and "help" in actions


async def test_at_20_columns_the_footer_is_quit_and_help_alone() -> None:
    app = console()
    async with app.run_test(size=(20, 24)) as pilot:
        await open_view(pilot, "overview")
        assert screen_lines(app)[-1].rstrip() == "q Quit ? Help"


@pytest.mark.parametrize("view", ["overview", "drift", "alerts"])
async def test_a_key_left_out_of_the_footer_is_in_the_help(view: str) -> None:
    app = crowded_console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, view)
        shown = set(footer_actions(app))
        left_out = {label.split(" ")[0] for label, action in full_labels(app).items()
                    if action not in shown}
        assert left_out
        await app.run_action("help")
        await pilot.pause()
        help_keys = {key for label in app.screen.query(".help-key").results(Label)
                     for key in str(label.render()).split(" ")}
        assert left_out <= help_keys


async def test_at_120_columns_the_overview_shows_the_keys_80_leave_out() -> None:
    narrow, wide = console(), console()
    async with narrow.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, "overview")
        at_80 = footer_actions(narrow)
    async with wide.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "overview")
        at_120 = footer_actions(wide)
    assert set(at_80) < set(at_120)
    assert {"open_alerts", "export"} <= set(at_120) - set(at_80)


async def test_a_resized_terminal_refits_the_footer() -> None:
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "drift")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        actions = footer_actions(app)
        assert "quit" in actions and "help" in actions
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert "export" in footer_actions(app)
