"""The console in any terminal: panels never cut a line, a short terminal keeps 8 table rows,
no colour, few colours, ASCII only, light or dark, and a read-only console for shared
sessions."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from console_view import panel_named, rendered, screen_lines, screen_text
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed
from look_scenes import SCREENS, alerting, console, open_view
from rich.cells import cell_len
from rich.color import ColorType
from rich.segment import Segment
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.formatting import format_reference_filling
from neural_tui.app.terminal_look import AsciiOnly, FewerColors, to_ascii
from neural_tui.cli import build_parser, settings_from
from neural_tui.config import ConsoleSection
from neural_tui.console import console_app
from neural_tui.screens.alerts import READ_ONLY_REFUSAL, AlertsScreen
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.overview import SPARKLINE_ROWS_CLASSES, panels_across, sparkline_rows
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_panel import ModelPanel


def segments(app: NeuralTuiApp) -> list[Segment]:
    """Every segment of the screen as the terminal would receive it."""
    return [segment for strip in app.screen._compositor.render_strips() for segment in strip]


def coloured(app: NeuralTuiApp) -> list[Segment]:
    """The segments with a foreground or background colour other than the terminal's own."""
    return [segment for segment in segments(app) if segment.style is not None and any(
        color is not None and not color.is_default
        for color in (segment.style.color, segment.style.bgcolor))]


def panel_words(app: NeuralTuiApp, name: str) -> str:
    """The words inside a panel's border, its wrapped lines joined."""
    region = panel_named(app, name).content_region
    rows = screen_lines(app)[region.y:region.bottom]
    return " ".join(" ".join(row[region.x:region.right].split()) for row in rows)


async def commands_done(pilot: Pilot[Any], app: NeuralTuiApp) -> None:
    """Let the alert commands' threads finish and report (a refused command starts none)."""
    for _ in range(100):
        if not [worker for worker in app.workers if worker.group == "alert commands"
                and not worker.is_finished]:
            return
        await pilot.pause(0.01)


# --- layout by width ------------------------------------------------------------------------

@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 48), (200, 60)])
async def test_no_panel_line_is_cut_at_any_width(size: tuple[int, int]) -> None:
    """The issue's lines (`accuracy 41.94 % n=`, the reference's progress) show whole."""
    app = console()
    async with app.run_test(size=size) as pilot:
        await open_view(pilot, "overview")
        fraud, churn = panel_words(app, "fraud"), panel_words(app, "churn")
        assert "accuracy 41.94 % n=120" in fraud
        assert "…" not in fraud + churn
        assert "drift appears once it is full (~1m 17s at 5.0/s)" in churn
        assert "(TimeoutError 1,200, ValueError 40)" in churn


async def test_a_long_model_name_keeps_the_time_range_in_its_panel_title() -> None:
    """The title (`name · version · last 5m`) is measured whole when the panels are laid out
    side by side, the range included."""
    long_name = "recommendation-ranker-" + "x" * 18
    feed = FakeFeed(snapshot(model_snapshot(long_name, window_seconds=300.0),
                             model_snapshot("churn", window_seconds=300.0)))
    async with NeuralTuiApp(feed).run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        title_row = rendered(pilot.app, panel_named(pilot.app, long_name)).splitlines()[0]
        assert f"{long_name} · 1.0.0 · last 5m" in title_row


async def test_panels_tile_three_across_at_200_columns_and_one_at_80() -> None:
    app = console()
    async with app.run_test(size=(200, 60)) as pilot:
        await open_view(pilot, "overview")
        tops = {panel.region.y for panel in app.screen.query(ModelPanel)}
        assert len(tops) == 1, "three panels side by side"
        assert app.screen.has_class("-three-across")
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, "overview")
        assert len({panel.region.x for panel in app.screen.query(ModelPanel)}) == 1


async def test_a_tall_terminal_draws_taller_sparklines() -> None:
    app = console()
    async with app.run_test(size=(200, 60)) as pilot:
        await open_view(pilot, "overview")
        tall = app.screen.query_one("#throughput-series").region.height
    app = console()
    async with app.run_test(size=(200, 30)) as pilot:
        await open_view(pilot, "overview")
        short = app.screen.query_one("#throughput-series").region.height
    assert tall > short


def test_panels_go_side_by_side_only_as_far_as_every_line_fits() -> None:
    assert panels_across(200, [60, 60], [50, 50]) == (3, False)
    assert panels_across(120, [72, 40], [52, 40]) == (2, True)
    assert panels_across(120, [72], [72]) == (1, False)
    assert panels_across(40, [72], [60]) == (1, True)
    assert panels_across(0, [], []) == (1, False)


def test_sparklines_share_the_rows_left_over_and_stay_within_bounds() -> None:
    assert sparkline_rows(20, 3) == 1
    assert sparkline_rows(57, 1) == 12
    assert sparkline_rows(57, 2) == 6
    assert sparkline_rows(0, 0) == 1
    assert sparkline_rows(10_000, 1) == max(SPARKLINE_ROWS_CLASSES)


# --- the reference and prediction drift -----------------------------------------------------

def test_the_reference_says_when_drift_appears_at_the_models_rate() -> None:
    assert format_reference_filling(617, 1_000, 5.0) == (
        "reference 617/1,000 records — drift appears once it is full (~1m 17s at 5.0/s)")


@pytest.mark.parametrize("rps", [0.0, -1.0, math.nan, math.inf])
def test_a_reference_with_no_records_arriving_promises_no_time(rps: float) -> None:
    assert format_reference_filling(10, 1_000, rps).endswith("(no records arriving now)")


def test_a_reference_counted_past_its_size_waits_no_time() -> None:
    assert "(~0s at 2.0/s)" in format_reference_filling(1_200, 1_000, 2.0)


async def test_drift_counts_input_features_only_and_shows_prediction_drift_apart() -> None:
    app = console()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_view(pilot, "drift")
        assert isinstance(app.screen, DriftScreen)
        text = screen_text(app)
        assert "1 of 14 features drifted" in text
        assert "model output: prediction stable" in text
        assert "confidence stable" in text
        table = app.screen.query_one("#drift-table", KeyedTable)
        keys = {str(table.coordinate_to_cell_key((row, 0)).row_key.value)
                for row in range(table.row_count)}
        assert "prediction" not in keys and "top_probability" not in keys


# --- 80x24 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("view", ["drift", "quality"])
async def test_a_drill_down_at_80x24_shows_at_least_8_table_rows(view: str) -> None:
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, view)
        table = app.screen.query_one(KeyedTable)
        assert table.region.height >= 1 + 8
        shown = rendered(app, table)
        assert sum(f"feature_{i:02d}" in shown for i in range(14)) >= 8


# --- colours, themes, ASCII -----------------------------------------------------------------

@pytest.mark.parametrize("view", SCREENS)
@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_every_screen_in_ascii_mode_draws_ascii_only(view: str, size: tuple[int, int]
                                                            ) -> None:
    app = console(ConsoleSection(ascii=True))
    async with app.run_test(size=size) as pilot:
        await open_view(pilot, view)
        text = screen_text(app)
        assert text.strip()
        assert [char for char in text if not char.isascii()] == []


async def test_without_ascii_mode_the_same_screen_draws_box_and_block_characters() -> None:
    """So the ASCII test above tests something: the console does draw non-ASCII otherwise."""
    app = console()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, "overview")
        assert any(not char.isascii() for char in screen_text(app))


def test_ascii_replacements_keep_every_line_its_width() -> None:
    drawn = "╭─ fraud · 1.0 ─╮│▁▂▃▄▅▆▇█│⣿ \u203a … ▲ é 日本"
    assert to_ascii(drawn).isascii()
    assert len(to_ascii(drawn)) == len(drawn) + 2
    assert to_ascii("▁▂▃▄▅▆▇█") == "_.,-=+*#"


@pytest.mark.parametrize("name", [
    "模型名", "😀", "\u2764\ufe0f", "\U0001f468\u200d\U0001f469\u200d\U0001f467",
    "e\u0301", "zero\u200bwidth", "\U0001f44d\U0001f3fb", "\U0001f1eb\U0001f1f7", "ｱｲ",
])
def test_ascii_replacements_take_the_cells_the_terminal_gives_emoji_and_wide_names(
        name: str) -> None:
    drawn = f"│ {name} │"
    assert to_ascii(drawn).isascii()
    assert cell_len(to_ascii(drawn)) == cell_len(drawn)


async def test_color_none_draws_no_colour_at_all() -> None:
    app = console(ConsoleSection(color="none"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "overview")
        assert segments(app)
        assert coloured(app) == []
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "overview")
        assert coloured(app), "the default draws in colour"


async def test_no_color_in_the_environment_draws_no_colour_at_all(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "drift")
        assert coloured(app) == []


async def test_an_empty_no_color_counts_as_unset_and_draws_in_colour(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "")
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "drift")
        assert not app.no_color
        assert coloured(app) != []


@pytest.mark.parametrize(("mode", "most"), [("16", 16), ("256", 256)])
async def test_a_low_colour_mode_draws_with_its_palette_only(mode: str, most: int) -> None:
    app = console(ConsoleSection(color=mode))  # type: ignore[arg-type]
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "slo")
        colours = [color for segment in coloured(app) for color in
                   (segment.style.color, segment.style.bgcolor)  # type: ignore[union-attr]
                   if color is not None and not color.is_default]
        assert colours
        assert all(color.type in (ColorType.STANDARD, ColorType.EIGHT_BIT)
                   and color.number is not None and color.number < most for color in colours)


async def test_the_light_theme_is_textuals_light_one() -> None:
    app = console(ConsoleSection(theme="light"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(pilot, "overview")
        assert app.theme == "textual-light"
        assert not app.current_theme.dark


# --- read-only ------------------------------------------------------------------------------

async def test_a_readonly_console_binds_no_alert_command_and_says_so() -> None:
    app = console(ConsoleSection(readonly=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "overview")
        assert "READ-ONLY" in screen_text(app)
        await open_view(pilot, "alerts")
        assert isinstance(app.screen, AlertsScreen)
        text = screen_text(app)
        assert "READ-ONLY" in text
        assert "Acknowledge" not in text and "Silence" not in text
        for key in ("a", "s", "u"):
            await pilot.press(key)
            await pilot.pause()
        assert isinstance(app.screen, AlertsScreen), "no silence dialog opened"
        screen = app.screen
        screen.action_acknowledge()  # as a palette command would call it
        await pilot.pause()
        assert any("read-only console" in str(n.message) for n in app._notifications)


@pytest.mark.parametrize("key", ["a", "s", "u"])
async def test_a_readonly_console_answers_an_alert_command_key_with_the_refusal(key: str) -> None:
    """A user who presses acknowledge, silence or lift on a shared console learns why nothing
    happens, and the alerts key is not offered on the alerts screen itself."""
    app = console(ConsoleSection(readonly=True))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "alerts")
        assert "Alerts" not in screen_lines(app)[-1]
        await pilot.press(key)
        await pilot.pause()
        assert isinstance(app.screen, AlertsScreen), "no silence dialog opened"
        assert [str(n.message) for n in app._notifications] == [READ_ONLY_REFUSAL]


async def test_a_readonly_console_sends_nothing_to_the_alerting() -> None:
    fake = alerting()
    app = console(ConsoleSection(readonly=True), fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "alerts")
        screen = app.screen
        assert isinstance(screen, AlertsScreen)
        for command in (screen.action_acknowledge, screen.action_silence,
                        screen.action_unsilence):
            command()
        await pilot.pause()
        await commands_done(pilot, app)
        assert isinstance(app.screen, AlertsScreen), "no silence dialog opened"
    assert fake.calls == []


async def test_a_console_that_may_write_acknowledges() -> None:
    """The read-only tests above would pass if acknowledging were broken: it is not."""
    fake = alerting()
    app = console(fake=fake)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(pilot, "alerts")
        await pilot.press("a")
        await pilot.pause()
        await commands_done(pilot, app)
    assert [call[0] for call in fake.calls] == ["acknowledge"]


async def churn_drill_down_text(view: str) -> str:
    """The text of churn's `view` drill-down while its reference fills, whitespace collapsed."""
    app = console()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        churn = next(model for model in app.snapshot.models if model.name == "churn")
        app.open_drill_down(churn.uid, view)
        await pilot.pause()
        return " ".join(screen_text(app).split())


async def test_the_drift_screen_explains_a_filling_reference_word_for_word() -> None:
    """`[drift] reference_rows` names the config key: it is text, not markup."""
    text = await churn_drill_down_text("drift")
    assert ("No drift report yet: reference 617/1,000 records — drift appears once it is "
            "full (~1m 17s at 5.0/s).") in text
    assert "its first [drift] reference_rows records" in text


async def test_the_quality_screen_says_its_own_report_waits_for_the_reference() -> None:
    """The quality screen waits on the same reference, but promises data quality, not drift."""
    text = await churn_drill_down_text("quality")
    assert ("No quality report yet: reference 617/1,000 records — data quality appears "
            "once it is full (~1m 17s at 5.0/s).") in text
    assert "drift appears" not in text


# --- from the config and flags to the app ---------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["--theme", "light", "--color", "16", "--ascii", "--readonly"],
    [],
])
def test_the_console_flags_reach_the_app(tmp_path: Path, argv: list[str]) -> None:
    """`neural-tui --theme --color --ascii --readonly` as `console.py` builds the app."""
    storage = tmp_path / "data"
    storage.mkdir()
    settings = settings_from(build_parser().parse_args(["--storage", str(storage), *argv]))
    app = console_app(settings, storage, label=str(storage))
    filters = {type(line_filter) for line_filter in app.get_line_filters()}
    assert app.readonly is bool(argv)
    assert (app.theme == "textual-light") is bool(argv)
    assert (AsciiOnly in filters) is bool(argv)
    assert (FewerColors in filters) is bool(argv)


@pytest.mark.parametrize("name", ["a\u200bb", "\ufeffmodel", "e\u0301t\u00e9", "\u540d\u524d"])
def test_ascii_mode_keeps_the_width_of_a_name_with_zero_width_or_wide_characters(
    name: str,
) -> None:
    """A zero-width character from a log (a zero-width space, a byte-order mark) draws as
    nothing, not as a `?` that would push the panel's border one cell out."""
    assert cell_len(to_ascii(name)) == cell_len(name)
    assert to_ascii(name).isascii()
