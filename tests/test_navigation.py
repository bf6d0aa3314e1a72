"""Getting around the console: the palette's jumps, the breadcrumb, the help that lists every
key of the screen, escape going back everywhere, quality on `c`, and the mouse."""

from __future__ import annotations

from typing import Any

import pytest
from alert_views import alert_entry, alerts_view
from console_view import palette_prompts, panel_named, panels, screen_text
from factories import (
    drift_report,
    drifting_model,
    feature_drift,
    four_slos,
    model_snapshot,
    snapshot,
)
from fake_alerting import FakeAlerting
from fake_feed import FakeFeed
from textual import events
from textual.screen import Screen
from textual.widgets import Label

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.commands import MAX_DISCOVERED, MAX_FOUND
from neural_tui.app.formatting import MAX_NAME_CELLS
from neural_tui.screens.alerts import AlertsScreen, entry_key
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.help import HelpScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.screens.silence import SilenceScreen
from neural_tui.screens.slo import SLOScreen
from neural_tui.widgets.breadcrumb import SEPARATOR, Breadcrumb
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_panel import ModelPanel

HOSTILE = "[bold]x[/]\x1b[31m"
HOSTILE_SHOWN = "[bold]x[/]\u241b[31m"




async def choose(pilot: Any, query: str, prompt: str) -> Screen[Any]:
    """Pick the palette entry `prompt`, found by typing `query`; return the screen it opens."""
    prompts = await palette_prompts(pilot, query)
    assert prompt in prompts
    for _ in range(prompts.index(prompt)):
        await pilot.press("down")
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()
    return pilot.app.screen


def path(*places: str) -> str:
    return SEPARATOR.join(places)


def crumb(pilot: Any) -> str:
    return str(pilot.app.screen.query_one(Breadcrumb).render())


def selected(screen: Screen[Any], selector: str) -> str | None:
    return screen.query_one(selector, KeyedTable).selected_key


# --- the palette ----------------------------------------------------------------------------


@pytest.mark.parametrize(("prompt", "kind"), [("Drift: churn", DriftScreen),
                                              ("Quality: churn", QualityScreen),
                                              ("SLOs: churn", SLOScreen)])
async def test_the_palette_opens_each_view_of_a_model(prompt: str, kind: type[Screen[Any]]
                                                      ) -> None:
    feed = FakeFeed(snapshot(drifting_model(), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = await choose(pilot, prompt.lower(), prompt)
        assert isinstance(screen, kind)
        assert screen.uid == "churn"


async def test_the_palette_jumps_to_a_feature_with_its_row_selected() -> None:
    feed = FakeFeed(snapshot(drifting_model(), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = await choose(pilot, "feature tenure", "Feature: tenure_days · fraud")
        assert isinstance(screen, DriftScreen)
        assert screen.uid == "fraud"
        assert selected(screen, "#drift-table") == "tenure_days"
        assert path("Drift", "feature tenure_days") in crumb(pilot)


async def test_the_palette_jumps_to_an_slo_with_it_selected() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud-detector", slos=four_slos())))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = await choose(pilot, "slo errors", "SLO: errors-1pct · fraud-detector")
        assert isinstance(screen, SLOScreen)
        assert selected(screen, "#slo-table") == "errors-1pct"
        assert path("SLOs", "SLO errors-1pct") in crumb(pilot)


async def test_the_palette_jumps_to_an_alert_with_it_selected() -> None:
    churn_alert = alert_entry("error_rate", model="churn", state="pending")
    view = alerts_view(alert_entry("drift_high"), churn_alert)
    alerting = FakeAlerting(view)
    feed = FakeFeed(snapshot(model_snapshot("fraud-detector"), model_snapshot("churn")))
    app = NeuralTuiApp(feed, alerts=alerting.provide, alert_commands=alerting, user="dana")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = await choose(pilot, "alert error", "Alert: error_rate · churn · pending")
        assert isinstance(screen, AlertsScreen)
        assert selected(screen, "#alerts-table") == entry_key(churn_alert)


async def test_without_alerting_the_palette_offers_no_alerts() -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn")))).run_test() as pilot:
        await pilot.pause()
        assert not [p for p in await palette_prompts(pilot, "alert") if p.startswith("Alert:")]


async def test_the_palette_shows_hostile_model_and_feature_names_literally() -> None:
    model = drifting_model(HOSTILE, drift=drift_report(feature_drift(HOSTILE)))
    async with NeuralTuiApp(FakeFeed(snapshot(model))).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        prompts = await palette_prompts(pilot, "feature")
        assert f"Feature: {HOSTILE_SHOWN} · {HOSTILE_SHOWN}" in prompts
        assert f"Feature: {HOSTILE_SHOWN} · {HOSTILE_SHOWN}" in screen_text(pilot.app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        assert path("Overview", f"{HOSTILE_SHOWN} 1.0.0", "Drift", f"feature {HOSTILE_SHOWN}") in (
            screen_text(pilot.app))


async def test_a_10000_character_model_name_takes_one_line_of_the_palette() -> None:
    model = drifting_model("m" * 10_000)
    async with NeuralTuiApp(FakeFeed(snapshot(model))).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        prompts = await palette_prompts(pilot, "")
        assert "Drift: " + "m" * (MAX_NAME_CELLS - 1) + "\N{HORIZONTAL ELLIPSIS}" in prompts
        assert all(len(prompt) < 100 for prompt in prompts)


async def test_typing_in_the_palette_of_thousands_of_features_lists_a_bounded_best_few(
        ) -> None:
    features = [feature_drift(f"f{index:04d}") for index in range(3 * MAX_FOUND)]
    model = drifting_model(drift=drift_report(*features))
    async with NeuralTuiApp(FakeFeed(snapshot(model))).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        listed = [p for p in await palette_prompts(pilot, "feature") if p.startswith("Feat")]
        assert len(listed) == MAX_FOUND


async def test_a_model_with_hundreds_of_features_lists_a_bounded_few_and_finds_any() -> None:
    features = [feature_drift(f"f{index:04d}") for index in range(600)]
    model = drifting_model(drift=drift_report(*features))
    async with NeuralTuiApp(FakeFeed(snapshot(model))).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        listed = [p for p in await palette_prompts(pilot, "") if p.startswith("Feature:")]
        assert 0 < len(listed) <= MAX_DISCOVERED
        await pilot.press("escape")
        await pilot.pause()
        screen = await choose(pilot, "feature f0599", "Feature: f0599 · fraud")
        assert isinstance(screen, DriftScreen)
        assert selected(screen, "#drift-table") == "f0599"


# --- the breadcrumb -------------------------------------------------------------------------


async def test_the_breadcrumb_follows_the_user_from_the_overview_to_a_feature() -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(drifting_model()))).run_test() as pilot:
        await pilot.pause()
        assert crumb(pilot) == "Overview"
        await pilot.press("slash", *"fr")
        await pilot.pause()
        assert crumb(pilot) == "Overview  (filter 'fr')"
        await pilot.press("enter", "d")
        await pilot.pause()
        assert crumb(pilot) == path("Overview", "fraud 1.0.0", "Drift", "feature income")
        await pilot.press("j", "o")
        await pilot.pause()
        assert crumb(pilot) == (path("Overview", "fraud 1.0.0", "Drift", "feature payment_method")
                                + "  (sorted by feature ↑)")
        await pilot.press("c")
        await pilot.pause()
        assert crumb(pilot).startswith(path("Overview", "fraud 1.0.0", "Data quality", "feature "))


async def test_the_breadcrumb_of_the_alerts_screen() -> None:
    alerting = FakeAlerting(alerts_view(alert_entry()))
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("fraud-detector"))),
                       alerts=alerting.provide, alert_commands=alerting)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert crumb(pilot) == path("Overview", "Alerts")


async def test_a_10000_character_model_name_keeps_the_breadcrumb_to_one_line_ending_in_view(
        ) -> None:
    name = "m" * 10_000
    async with NeuralTuiApp(FakeFeed(snapshot(drifting_model(name)))).run_test(
            size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("d", "o")
        await pilot.pause()
        bar = pilot.app.screen.query_one(Breadcrumb)
        assert bar.region.height == 1
        assert crumb(pilot).endswith(f"{SEPARATOR}Drift{SEPARATOR}feature income"
                                     "  (sorted by feature \N{UPWARDS ARROW})")
        assert pilot.app.screen.query_one(KeyedTable).region.height >= 8


@pytest.mark.parametrize("key", ["d", "c", "s", "l"])
async def test_a_view_of_a_model_with_a_10000_character_name_and_version_titles_it_in_one_line(
        key: str) -> None:
    model = drifting_model("m" * 10_000, version="v" * 10_000, slos=four_slos("m" * 10_000))
    async with NeuralTuiApp(FakeFeed(snapshot(model))).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        title = pilot.app.screen.query_one("#drill-title", Label)
        assert title.region.height == 1
        assert str(title.render()).endswith(f" \N{MIDDLE DOT} {type(pilot.app.screen).VIEW_TITLE}")


# --- help: every key of the screen ----------------------------------------------------------


async def help_rows(pilot: Any) -> dict[str, str]:
    """Open the help and read it: keys → description."""
    await pilot.press("question_mark")
    await pilot.pause()
    help_screen = pilot.app.screen
    assert isinstance(help_screen, HelpScreen)
    keys = [str(label.render()) for label in help_screen.query(".help-key").results(Label)]
    descriptions = [str(label.render())
                    for label in help_screen.query(".help-description").results(Label)]
    return dict(zip(keys, descriptions, strict=True))


def expected_keys(screen: Screen[Any]) -> set[str]:
    """Every key a user can press on `screen`, as the app displays it."""
    app = screen.app
    return {app.get_key_display(active.binding) for active in screen.active_bindings.values()
            if not active.binding.system}


def listed_keys(rows: dict[str, str]) -> set[str]:
    return {key for keys in rows for key in keys.split(" ")}


TABLE_KEYS = {"j": "Cursor down", "k": "Cursor up", "g": "Top", "G": "Bottom",
              "o": "Sort by next column", "i": "Reverse sort"}


@pytest.mark.parametrize(("keys", "kind", "own"), [
    ((), OverviewScreen, {"/": "Filter", "c": "Quality", "g": "First model", "G": "Last model"}),
    (("d",), DriftScreen, {"esc": "Back", "c": "Quality",
                           "/": "Filter features"}),
    (("c",), QualityScreen, {"/": "Filter features", "s": "SLOs"}),
    (("s",), SLOScreen, {"esc": "Back", "d": "Drift"}),
])
async def test_the_help_lists_every_key_of_the_screen_with_what_it_does(
        keys: tuple[str, ...], kind: type[Screen[Any]], own: dict[str, str]) -> None:
    feed = FakeFeed(snapshot(drifting_model(slos=four_slos("fraud"))))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, kind)
        wanted = expected_keys(screen)
        rows = await help_rows(pilot)
        assert wanted <= listed_keys(rows)
        assert all(description.strip() for description in rows.values())
        table_keys = TABLE_KEYS if kind is not OverviewScreen else {}
        for key, description in {**own, **table_keys}.items():
            assert any(key in keys.split(" ") and text == description
                       for keys, text in rows.items()), key


async def test_the_help_of_the_alerts_screen_lists_its_keys_and_its_tables() -> None:
    alerting = FakeAlerting(alerts_view(alert_entry()))
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("fraud-detector"))),
                       alerts=alerting.provide, alert_commands=alerting)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        wanted = expected_keys(pilot.app.screen)
        rows = await help_rows(pilot)
        assert wanted <= listed_keys(rows)
        assert {"a", "s", "u", "esc", "j", "k", "g", "G", "o", "i"} <= listed_keys(rows)


# --- escape goes back -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["d", "c", "s", "question_mark"])
async def test_escape_goes_back_to_the_overview_from_every_view_and_the_help(key: str) -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(drifting_model()))).run_test() as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(pilot.app.screen, OverviewScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_escape_leaves_the_silence_dialog_then_the_alerts_screen() -> None:
    alerting = FakeAlerting(alerts_view(alert_entry()))
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("fraud-detector"))),
                       alerts=alerting.provide, alert_commands=alerting)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(pilot.app.screen, SilenceScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, AlertsScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_escape_on_the_overview_clears_the_filter() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud"), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        await pilot.press("slash", *"churn", "enter")
        await pilot.pause()
        assert not panel_named(pilot.app, "fraud").display
        await pilot.press("escape")
        await pilot.pause()
        assert panel_named(pilot.app, "fraud").display
        assert crumb(pilot) == "Overview"



def type_in_one_burst(app: NeuralTuiApp, text: str) -> None:
    """Queue every key at once, as a paste or an SSH packet delivers them: none is handled
    before the next has arrived."""
    for character in text:
        app.post_message(events.Key("slash" if character == "/" else character, character))


async def test_keys_typed_right_after_slash_go_into_the_overview_filter() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud"), model_snapshot("churn")))
    alerting = FakeAlerting(alerts_view())
    async with NeuralTuiApp(feed, alerts=alerting.provide, alert_commands=alerting,
                            user="dana").run_test() as pilot:
        await pilot.pause()
        type_in_one_burst(pilot.app, "/fra")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen), "the `a` went to the filter"
        assert crumb(pilot) == "Overview  (filter 'fra')"
        type_in_one_burst(pilot.app, "/x")
        await pilot.pause()
        assert crumb(pilot) == "Overview  (filter 'fra/x')", "in the filter, `/` is text"


async def test_keys_typed_right_after_slash_go_into_the_feature_filter() -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(drifting_model()))).run_test() as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        type_in_one_burst(pilot.app, "/inc")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen), "the `c` went to the filter"
        assert "filter 'inc'" in crumb(pilot)

# --- quality moved off Q --------------------------------------------------------------------


async def test_c_opens_quality_and_Q_beside_q_does_nothing() -> None:
    async with NeuralTuiApp(FakeFeed(snapshot(drifting_model()))).run_test() as pilot:
        await pilot.pause()
        await pilot.press("Q")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)
        assert pilot.app.is_running
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QualityScreen)


# --- the mouse ------------------------------------------------------------------------------


async def test_a_click_selects_a_panel_and_a_double_click_opens_it() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud"), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        second = panels(pilot.app)[1]
        assert pilot.app.screen.focused is not second
        await pilot.click(second, offset=(5, 3))
        await pilot.pause()
        assert pilot.app.screen.focused is second
        assert isinstance(pilot.app.screen, OverviewScreen)
        await pilot.double_click(second, offset=(5, 3))
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.uid == second.uid


async def test_a_click_on_a_panels_title_opens_it() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud"), model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.click(panel_named(pilot.app, "churn"), offset=(3, 0))
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.uid == "churn"


async def test_g_and_G_select_the_first_and_last_panel() -> None:
    feed = FakeFeed(snapshot(*(model_snapshot(name) for name in ("a", "b", "c"))))
    async with NeuralTuiApp(feed).run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        await pilot.press("G")
        focused = pilot.app.screen.focused
        assert isinstance(focused, ModelPanel)
        assert focused is list(pilot.app.screen.query(ModelPanel))[-1]
        await pilot.press("g")
        assert pilot.app.screen.focused is pilot.app.screen.query(ModelPanel).first()
