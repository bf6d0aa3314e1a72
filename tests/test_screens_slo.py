"""The SLO screen, the panel's SLO line and the palette's SLO commands, driven through Pilot.

Statuses are built by hand (`factories`); the figures on screen are the ones stated in their
docstrings, written as the console writes them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from console_view import (
    open_screen,
    palette_prompts,
    panel_named,
    rendered,
    screen_lines,
    screen_text,
    table_keys,
)
from factories import (
    FIXED_TIME,
    ONGOING_BREACH_START,
    WORKBOOK_WINDOWS,
    error_rate_slo,
    four_slos,
    model_snapshot,
    no_data_throughput_slo,
    overspent_latency_slo,
    slo_status,
    snapshot,
)
from fake_feed import FakeFeed
from rich.style import Style
from textual.app import App

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.formatting import format_datetime_utc, format_duration
from neural_tui.app.slo_text import (
    concern,
    format_budget,
    format_burn_rate,
    format_fraction,
    headline,
)
from neural_tui.engines.slo import SHOWN_BREACHES, Breach, SLOAlert, SLOStatus
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.help import HelpScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.slo import SLOScreen, budget_bar, unique_keys
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_panel import SLO_PAGE_CLASS, SLO_TICKET_CLASS


def fraud(*slos: SLOStatus, name: str = "fraud-detector") -> ModelSnapshot:
    return model_snapshot(name, slos=slos)


async def open_slo_screen(pilot: Any) -> SLOScreen:
    return await open_screen(pilot, "s", SLOScreen)


def slo_table(app: App[Any]) -> KeyedTable:
    return app.screen.query_one("#slo-table", KeyedTable)


def row_of(app: App[Any], name: str) -> str:
    return next(line for line in screen_lines(app) if line.startswith(f" {name} "))


# --- how a status is judged and written ------------------------------------------------------


TICKET_BURN = SLOAlert("slo_burn_rate", "ticket", {"long_window": "3d", "short_window": "6h"},
                       "error budget burning 1.5x over 3d and 1.2x over 6h (limit 1x)", 1.5, 1.2)
"""A ticket-level burn: 1.5 over 3 days and 1.2 over 6 hours, both above 1."""


def exhausted_slo() -> SLOStatus:
    """The availability SLO with 150 of 10,000 failed: compliance 0.985 below 0.99, so the
    budget is 1 - 0.015 / 0.01 = -0.5, and no alert fires (the burn is old)."""
    return slo_status(good=9_850, sli=0.985, compliance=0.985, error_budget_remaining=-0.5,
                      time_to_exhaustion_seconds=0.0)


def test_concern_ranks_page_then_exhausted_then_ticket_then_no_data() -> None:
    assert concern(overspent_latency_slo()).word == "PAGE"
    assert concern(exhausted_slo()).word == "BUDGET EXHAUSTED"
    assert concern(slo_status(alerts=(TICKET_BURN,))).word == "TICKET"
    assert concern(replace(exhausted_slo(), alerts=(TICKET_BURN,))).word == "BUDGET EXHAUSTED"
    assert concern(no_data_throughput_slo()).word == "NO DATA"
    assert concern(slo_status()) is None
    assert concern(replace(no_data_throughput_slo(), alerts=())) is None


def test_an_exhausted_budget_and_a_page_alert_are_pages_the_rest_are_tickets() -> None:
    assert concern(overspent_latency_slo()).severity == "page"
    assert concern(slo_status(error_budget_remaining=0.0)).severity == "page"
    assert concern(slo_status(alerts=(TICKET_BURN,))).severity == "ticket"
    assert concern(no_data_throughput_slo()).severity == "ticket"


@pytest.mark.parametrize(
    ("remaining", "written"),
    [(0.5, "50.0 %"), (0.0, "0.0 %"), (-0.0, "0.0 %"), (-2.5, "-250.0 % overspent"),
     (-2.2e-16, "0.0 % overspent"), (-9999.0, "-999,900.0 % overspent"), (None, "n/a"),
     (float("nan"), "n/a")],
)
def test_the_budget_is_a_share_of_the_whole_and_negative_reads_overspent(
    remaining: float | None, written: str
) -> None:
    assert format_budget(remaining) == written


def test_a_budget_overspent_by_a_hair_never_reads_negative_zero() -> None:
    hair = -2.2e-16
    bar = budget_bar(hair, {name: Style() for name in ("overspent", "page", "budget", "muted")})
    assert bar.plain == " OVERSPENT 0.0 %"
    line = headline((slo_status(error_budget_remaining=hair),))
    assert line is not None and "budget 0.0 %" in line[0].plain


def test_row_keys_number_repeats_and_skip_names_already_taken() -> None:
    assert unique_keys(["a", "a", "a #2", "b", "a"]) == ["a", "a #2", "a #2 #2", "b", "a #3"]


def test_row_keys_of_twenty_thousand_equal_names_are_all_distinct() -> None:
    keys = unique_keys(["same"] * 20_000)
    assert len(set(keys)) == 20_000
    assert keys[:3] == ["same", "same #2", "same #3"] and keys[-1] == "same #20000"


def test_burn_rates_and_fractions_keep_the_digits_that_matter() -> None:
    assert [format_burn_rate(rate) for rate in (0.0, 0.5, 14.4, 1234.0, None, float("inf"))] == [
        "0.00", "0.50", "14.4", "1,234", "n/a", "n/a"]
    assert [format_fraction(f) for f in (0.99, 0.9995, 0.002, 0.00005, 1.0)] == [
        "99.00 %", "99.950 %", "0.20 %", "0.005 %", "100.00 %"]


@pytest.mark.parametrize(
    ("seconds", "written"),
    [(0, "0s"), (45, "45s"), (3600, "1h"), (8400, "2h 20m"), (273_659, "3d 4h"),
     (None, "n/a"), (float("nan"), "n/a"), (-1, "n/a"), (1e300, "> 9999d")],
)
def test_durations_are_written_in_their_two_largest_units(
    seconds: float | None, written: str
) -> None:
    assert format_duration(seconds) == written


def test_a_time_beyond_any_calendar_is_not_a_date() -> None:
    assert format_datetime_utc(FIXED_TIME) == "2026-01-01 00:00 UTC"
    assert format_datetime_utc(1e20) == "n/a"
    assert format_datetime_utc(float("nan")) == "n/a"


# --- the SLO screen --------------------------------------------------------------------------


async def test_s_on_a_panel_opens_its_slos_most_urgent_first() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        assert table_keys(pilot.app) == [
            "latency-250ms", "throughput-5rps", "availability", "errors-1pct"]
        text = screen_text(pilot.app)
        assert "fraud-detector · 1.0.0 · SLOs" in text
        assert "4 SLOs · 1 paging · 1 without data · 2 fine · record time 2026-01-01 00:00 UTC" in (
            text)


async def test_a_met_slo_shows_its_budget_bar_sli_target_burn_rates_and_exhaustion() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        row = row_of(pilot.app, "availability")
        for cell in ("ok", "█████░░░░░ 50.0 %", "99.50 %", "≥ 99.00 % in 30d", "availability",
                     "30d", "1h 0.40  5m 0.00  6h 0.60  30m 0.50  3d 0.50"):
            assert cell in row, cell
        errors = row_of(pilot.app, "errors-1pct")
        assert "████████░░ 80.0 %" in errors
        assert "0.20 %  ≤ 1.00 % in 30d" in errors
        assert "120d" in errors


async def test_an_overspent_budget_says_overspent_with_its_share_below_zero() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        screen = await open_slo_screen(pilot)
        row = row_of(pilot.app, "latency-250ms")
        assert "▲ PAGE" in row
        assert "OVERSPENT -250.0 %" in row
        assert "exhausted" in row
        assert "14m 18.0  1m 22.5  1h24m 7.25  7m 9.00  16h48m 3.50" in row
        budget = slo_table(pilot.app).get_cell("latency-250ms", "budget")
        overspent = screen.get_component_rich_style("slo-screen--overspent")
        assert any(span.style == overspent for span in budget.spans)


async def test_an_slo_without_data_says_so_instead_of_a_figure() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        row = row_of(pilot.app, "throughput-5rps")
        assert "NO DATA" in row
        assert "░░░░░░░░░░ n/a" in row
        assert "throughput ≥ 5 rps" in row
        assert "1h n/a  5m n/a" in row


async def test_the_selected_slo_shows_its_page_alert_and_breaches_newest_first() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        text = screen_text(pilot.app)
        assert "compliance 99.65 % (19,930 good of 20,000) · SLI 99.65 %" in text
        assert ("▲ PAGE burn rate: error budget burning 18x over 14m and 22.5x over 1m "
                "(limit 14.4x)") in text
        assert "breaches: 2 (1 ongoing) · 3h 25m in all, longest 2h 40m" in text
        assert "more" not in text
        breaches = pilot.app.screen.query_one("#breach-table", KeyedTable)
        assert [breaches.coordinate_to_cell_key((row, 0)).row_key.value
                for row in range(breaches.row_count)] == [
            repr(ONGOING_BREACH_START), repr(FIXED_TIME - 86_400)]
        lines = screen_lines(pilot.app)
        assert any("2025-12-31 21:20 UTC  ongoing" in line and "2h 40m" in line for line in lines)
        assert any("2025-12-31 00:00 UTC  2025-12-31 00:45 UTC" in line and "45m" in line
                   for line in lines)


async def test_moving_the_cursor_shows_the_other_slo_and_its_empty_history() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        await pilot.press("down")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "TICKET no data: no SLO events in 30d although the model served requests" in text
        assert "compliance n/a (0 good of 0)" in text
        assert "breaches: none in the window" in text
        assert pilot.app.screen.query_one("#breach-table", KeyedTable).row_count == 0
        await pilot.press("down")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "no alert firing" in text
        assert "budget 50.0 % · exhausted in 30d" in text


async def test_an_slo_with_events_but_no_burn_is_not_burning_rather_than_unknown() -> None:
    spotless = slo_status(good=10_000, sli=1.0, compliance=1.0, error_budget_remaining=1.0,
                          burn_rates=dict.fromkeys(WORKBOOK_WINDOWS, 0.0),
                          time_to_exhaustion_seconds=None)
    feed = FakeFeed(snapshot(fraud(spotless, no_data_throughput_slo())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        assert "██████████ 100.0 %" in row_of(pilot.app, "availability")
        assert "not burning" in row_of(pilot.app, "availability")
        assert "not burning" not in row_of(pilot.app, "throughput-5rps")


async def test_slo_rows_update_in_place_and_the_cursor_stays_on_its_slo() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        table = slo_table(pilot.app)
        await pilot.press("down", "down")
        assert table.selected_key == "availability"
        feed.publish(snapshot(fraud(exhausted_slo(), error_rate_slo())))
        await pilot.pause()
        assert slo_table(pilot.app) is table
        assert table_keys(pilot.app) == ["availability", "errors-1pct"]
        assert table.selected_key == "availability"
        assert "▲ BUDGET EXHAUSTED" in row_of(pilot.app, "availability")
        assert "OVERSPENT -50.0 %" in row_of(pilot.app, "availability")


async def test_two_slos_of_the_same_name_get_a_row_each() -> None:
    feed = FakeFeed(snapshot(fraud(slo_status(), slo_status(good=9_990))))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        assert table_keys(pilot.app) == ["availability", "availability #2"]


async def test_figures_that_are_not_numbers_are_written_n_a_and_duplicate_breaches_kept() -> None:
    nan = float("nan")
    broken = slo_status(sli=nan, compliance=nan, error_budget_remaining=nan,
                        burn_rates={"1h": nan, "5m": float("inf")}, time_to_exhaustion_seconds=nan,
                        breaches=(Breach(nan, None, nan), Breach(nan, nan, nan),
                                  Breach(FIXED_TIME, None, 0.0), Breach(FIXED_TIME, None, 0.0)))
    feed = FakeFeed(snapshot(fraud(broken)))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        row = row_of(pilot.app, "availability")
        assert "░░░░░░░░░░ n/a" in row
        assert "1h n/a  5m n/a" in row
        assert pilot.app.screen.query_one("#breach-table", KeyedTable).row_count == 4
        assert "breaches: 4 (3 ongoing)" in screen_text(pilot.app)


def flapping(count: int) -> SLOStatus:
    """`count` one-minute breaches every other minute before `FIXED_TIME`, all listed (as a
    hand-made status may), the newest ongoing."""
    starts = [FIXED_TIME - 120.0 * (count - i) for i in range(count)]
    listed = tuple(Breach(start, start + 60, 60.0) for start in starts[:-1])
    return slo_status(breaches=(*listed, Breach(starts[-1], None, 60.0)), breach_count=count,
                      breached_seconds=60.0 * count, longest_breach_seconds=60.0)


async def test_twenty_thousand_breaches_list_the_newest_hundred_and_count_the_rest() -> None:
    feed = FakeFeed(snapshot(fraud(flapping(20_000))))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_slo_screen(pilot)
        table = pilot.app.screen.query_one("#breach-table", KeyedTable)
        assert table.row_count == SHOWN_BREACHES == 100
        assert table.coordinate_to_cell_key((0, 0)).row_key.value == repr(FIXED_TIME - 120.0)
        # 20,000 minutes of breach: 13 days 21 hours 20 minutes
        text = screen_text(pilot.app)
        assert "breaches: 20,000 (1 ongoing) · 13d 21h in all, longest 1m" in text
        assert "the newest 100 below, and 19,900 more" in text


async def test_the_newest_hundred_of_many_breaches_say_how_many_more_at_80_columns() -> None:
    status = replace(flapping(SHOWN_BREACHES), breach_count=21_600,
                     breached_seconds=21_599 * 60 + 30.0)
    feed = FakeFeed(snapshot(fraud(status)))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await open_slo_screen(pilot)
        assert pilot.app.screen.query_one("#breach-table", KeyedTable).row_count == 100
        text = screen_text(pilot.app)
        assert "breaches: 21,600 (1 ongoing) · 14d 23h in all, longest 1m" in text
        assert "the newest 100 below, and 21,500 more" in text


async def test_a_model_without_slos_says_none_applies() -> None:
    feed = FakeFeed(snapshot(fraud()))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_slo_screen(pilot)
        text = screen_text(pilot.app)
        assert "No SLO status for this model yet" in text
        assert "error budget" not in text


async def test_a_model_no_longer_reported_says_so() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_slo_screen(pilot)
        feed.publish(snapshot(model_snapshot("churn")))
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "fraud-detector · no longer reported" in text
        assert "This model is not in the latest snapshot." in text


@pytest.mark.parametrize("hostile", ["[bold]x[/]", "\x1b[31mred", "\x1b]0;pwned\x07"])
async def test_hostile_slo_and_model_names_are_shown_literally(hostile: str) -> None:
    statuses = (overspent_latency_slo(hostile, hostile), slo_status("ok", hostile))
    feed = FakeFeed(snapshot(fraud(*statuses, name=hostile)))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        visible = hostile.replace("\x1b", "\u241b").replace("\x07", "\u2407")
        panel = rendered(pilot.app, panel_named(pilot.app, hostile))
        assert f"▲ SLO {visible}: PAGE" in panel
        await open_slo_screen(pilot)
        text = "".join(segment.text for strip in pilot.app.screen._compositor.render_strips()
                       for segment in strip)
        assert not any(char in text for char in "\x1b\x07")
        assert f"{visible} · 1.0.0 · SLOs" in text
        assert f" {visible} " in text
        assert f"{visible} · latency ≤ 250 ms · target ≥ 99.90 % over 7d" in text


# --- keys ------------------------------------------------------------------------------------


async def test_s_from_a_drill_down_takes_its_place_and_escape_leads_to_the_overview() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SLOScreen)
        assert len(pilot.app.screen_stack) == 2
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        await pilot.press("s", "escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_the_slo_key_is_rebound_by_its_binding_id() -> None:
    app = NeuralTuiApp(FakeFeed(snapshot(fraud(*four_slos()))), keys={"model.slo": "o"})
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, SLOScreen)


async def test_help_on_the_slo_screen_lists_its_keys() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(80, 40)) as pilot:
        await open_slo_screen(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        lines = screen_lines(pilot.app)
        for keys, description in [("esc", "Back"), ("d", "Drift"), ("c", "Quality"),
                                  ("s", "SLOs")]:
            assert any(f" {keys} " in line and description in line for line in lines), keys


# --- the overview panel ----------------------------------------------------------------------


async def test_the_panel_names_its_most_urgent_slo_in_the_page_colour() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "fraud-detector")
        assert ("▲ SLO latency-250ms: PAGE · budget -250.0 % (+1 more)"
                in rendered(pilot.app, panel))
        assert panel.has_class(SLO_PAGE_CLASS)
        assert not panel.has_class(SLO_TICKET_CLASS)


async def test_a_ticket_level_burn_shows_on_the_panel_in_the_ticket_colour() -> None:
    slow_burn = slo_status(alerts=(TICKET_BURN,))
    feed = FakeFeed(snapshot(fraud(slow_burn, error_rate_slo())))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "fraud-detector")
        text = rendered(pilot.app, panel)
        assert "SLO availability: TICKET · budget 50.0 %" in text
        assert "▲ SLO" not in text
        assert "more)" not in text
        assert panel.has_class(SLO_TICKET_CLASS)
        assert not panel.has_class(SLO_PAGE_CLASS)


@pytest.mark.parametrize("slos", [(), (slo_status(), error_rate_slo())],
                         ids=["none configured", "all met"])
async def test_the_panel_has_no_slo_line_while_no_budget_burns(slos: tuple[SLOStatus, ...]
                                                              ) -> None:
    feed = FakeFeed(snapshot(fraud(*slos)))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "fraud-detector")
        assert "SLO" not in rendered(pilot.app, panel)
        assert panel.query_one("#slo-headline").region.height == 0
        assert not panel.has_class(SLO_PAGE_CLASS)
        assert not panel.has_class(SLO_TICKET_CLASS)


async def test_the_panel_slo_line_goes_when_the_budget_recovers() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "fraud-detector")
        burning = panel.region.height
        assert panel.query_one("#slo-headline").region.height == 1
        feed.publish(snapshot(fraud(slo_status())))
        await pilot.pause()
        assert "SLO" not in rendered(pilot.app, panel)
        assert panel.region.height == burning - 1
        assert not panel.has_class(SLO_PAGE_CLASS)


# --- the command palette ---------------------------------------------------------------------




async def test_the_palette_offers_the_slos_of_every_model_the_one_in_focus_first() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos()), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause()
        prompts = await palette_prompts(pilot, "SLOs")
        model_commands = [prompt for prompt in prompts if prompt.startswith("SLOs: ")]
        assert model_commands == ["SLOs: fraud-detector", "SLOs: churn"]
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, SLOScreen)
        assert screen.uid == "fraud-detector"


async def test_a_palette_command_opens_the_slos_of_the_model_it_names() -> None:
    feed = FakeFeed(snapshot(fraud(*four_slos()), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert await palette_prompts(pilot, "slos churn") == ["SLOs: churn"]
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, SLOScreen)
        assert screen.uid == "churn"
        assert len(pilot.app.screen_stack) == 2


async def test_before_anything_is_typed_the_palette_lists_the_slo_commands_literally() -> None:
    feed = FakeFeed(snapshot(fraud(name="[bold]x[/]"), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        prompts = await palette_prompts(pilot, "")
        slo_commands = [prompt for prompt in prompts if prompt.startswith("SLOs")]
        assert slo_commands == ["SLOs: [bold]x[/]", "SLOs: churn"]


async def test_the_palette_shows_a_hostile_model_name_literally() -> None:
    hostile = "[bold]x[/]\x1b[31m"
    feed = FakeFeed(snapshot(fraud(name=hostile)))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert await palette_prompts(pilot, "SLOs") == ["SLOs: [bold]x[/]\u241b[31m"]
        assert "SLOs: [bold]x[/]\u241b[31m" in screen_text(pilot.app)

