"""Every table of the console: vim keys, sorting by column (keys and header clicks) by the
values the cells show, the feature filter, and all of it surviving snapshot updates."""

from __future__ import annotations

import math
from typing import Any

import pytest
from console_view import table_keys
from factories import drift_report, drifting_model, feature_drift, four_features, snapshot
from fake_feed import FakeFeed
from rich.text import Text
from textual.app import App, ComposeResult

from neural_tui.app.app import NeuralTuiApp
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.widgets.keyed_table import KeyedRow, KeyedTable, ordered_rows

COLUMNS = (("name", "name"), ("value", "value"))


def row(key: str, value: float | str | None) -> KeyedRow:
    shown = "n/a" if value is None else str(value)
    return KeyedRow(key, (Text(key), Text(shown)), (key, value))


class OneTable(App[None]):
    """A bare app around one `KeyedTable`, fed by the test."""

    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS)


async def synced(pilot: Any, rows: list[KeyedRow]) -> KeyedTable:
    table = pilot.app.query_one(KeyedTable)
    table.sync(rows)
    await pilot.pause()
    return table


def keys_of(table: KeyedTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((index, 0)).row_key.value)
            for index in range(table.row_count)]


# --- ordering, as a function -----------------------------------------------------------------


def test_numbers_sort_as_numbers_not_as_their_text() -> None:
    rows = [row("a", 10.0), row("b", 9.0), row("c", 100.0)]
    assert [r.key for r in ordered_rows(rows, 1, reverse=False)] == ["b", "a", "c"]


@pytest.mark.parametrize("reverse", [False, True])
def test_a_row_without_a_value_sorts_last_either_way(reverse: bool) -> None:
    rows = [row("none", None), row("nan", math.nan), row("one", 1.0), row("two", 2.0)]
    keys = [r.key for r in ordered_rows(rows, 1, reverse=reverse)]
    assert keys[2:] == ["none", "nan"]
    assert keys[:2] == (["two", "one"] if reverse else ["one", "two"])


def test_a_column_mixing_numbers_and_text_puts_numbers_first_and_never_raises() -> None:
    rows = [row("t", "beta"), row("n", 3.0), row("u", "Alpha"), row("m", -1.0)]
    assert [r.key for r in ordered_rows(rows, 1, reverse=False)] == ["m", "n", "u", "t"]


@pytest.mark.parametrize("reverse", [False, True])
def test_nan_inf_none_text_and_an_int_beyond_any_float_sort_without_raising(
        reverse: bool) -> None:
    rows = [row("nan", math.nan), row("inf", math.inf), row("none", None), row("text", "abc"),
            row("-inf", -math.inf), row("three", 3), row("huge", 10**400), row("empty", "")]
    keys = [r.key for r in ordered_rows(rows, 1, reverse=reverse)]
    assert keys == (["text", "empty", "inf", "huge", "three", "-inf", "nan", "none"] if reverse
                    else ["-inf", "three", "inf", "huge", "empty", "text", "nan", "none"])


def test_without_a_sort_column_the_given_order_is_kept_or_reversed() -> None:
    rows = [row("b", 1.0), row("a", 2.0)]
    assert [r.key for r in ordered_rows(rows, None, reverse=False)] == ["b", "a"]
    assert [r.key for r in ordered_rows(rows, None, reverse=True)] == ["a", "b"]


# --- keys --------------------------------------------------------------------------------------


async def test_j_k_g_and_G_move_the_cursor_down_up_to_the_top_and_to_the_bottom() -> None:
    async with OneTable().run_test() as pilot:
        table = await synced(pilot, [row(f"r{index}", float(index)) for index in range(5)])
        table.focus()
        await pilot.press("j", "j")
        assert table.selected_key == "r2"
        await pilot.press("k")
        assert table.selected_key == "r1"
        await pilot.press("G")
        assert table.selected_key == "r4"
        await pilot.press("g")
        assert table.selected_key == "r0"


async def test_o_sorts_by_the_next_column_i_reverses_and_after_the_last_column_order_returns(
) -> None:
    async with OneTable().run_test() as pilot:
        table = await synced(pilot, [row("b", 10.0), row("c", 9.0), row("a", None)])
        table.focus()
        await pilot.press("o")
        assert keys_of(table) == ["a", "b", "c"]
        await pilot.press("o")
        assert keys_of(table) == ["c", "b", "a"]
        await pilot.press("i")
        assert keys_of(table) == ["b", "c", "a"]
        assert table.arrangement == "sorted by value ↓"
        await pilot.press("o")
        assert keys_of(table) == ["b", "c", "a"]
        assert table.arrangement == ""


async def test_the_sort_survives_updates_and_the_cursor_stays_on_its_row() -> None:
    async with OneTable().run_test() as pilot:
        table = await synced(pilot, [row("a", 1.0), row("b", 2.0), row("c", 3.0)])
        table.focus()
        await pilot.press("o", "o", "i")
        assert table.selected_key == "a"
        await pilot.press("g", "j")
        assert table.selected_key == "b"
        await synced(pilot, [row("a", 5.0), row("b", 2.0), row("c", 3.0), row("d", 0.5)])
        assert keys_of(table) == ["a", "c", "b", "d"]
        assert table.selected_key == "b"


async def test_clicking_a_header_sorts_by_its_column_and_clicking_again_reverses() -> None:
    async with OneTable().run_test() as pilot:
        table = await synced(pilot, [row("b", 1.0), row("a", 3.0), row("c", 2.0)])
        await pilot.click(KeyedTable, offset=(1, 0))
        assert keys_of(table) == ["a", "b", "c"]
        await pilot.click(KeyedTable, offset=(1, 0))
        assert keys_of(table) == ["c", "b", "a"]


async def test_clicking_a_row_selects_it() -> None:
    async with OneTable().run_test() as pilot:
        table = await synced(pilot, [row("a", 1.0), row("b", 2.0), row("c", 3.0)])
        await pilot.click(KeyedTable, offset=(1, 3))
        assert table.selected_key == "c"


async def test_a_row_asked_for_before_it_exists_is_selected_when_it_arrives() -> None:
    async with OneTable().run_test() as pilot:
        table = pilot.app.query_one(KeyedTable)
        table.select_key("c")
        await synced(pilot, [row("a", 1.0), row("b", 2.0), row("c", 3.0)])
        assert table.selected_key == "c"
        await synced(pilot, [row("c", 3.0), row("a", 1.0), row("b", 2.0)])
        table.move_cursor(row=2)
        await synced(pilot, [row("a", 1.0), row("b", 2.0), row("c", 3.0)])
        assert table.selected_key == "b"


# --- on the screens -------------------------------------------------------------------------


async def open_drift(pilot: Any) -> DriftScreen:
    await pilot.pause()
    await pilot.press("d")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DriftScreen)
    return screen


async def test_the_drift_table_sorts_by_p_value_as_numbers_with_the_untested_last() -> None:
    features = (*four_features(), feature_drift("zip", reason="too few values", p_value=None,
                                                statistic=None, severity=0.0))
    feed = FakeFeed(snapshot(drifting_model(drift=drift_report(*features))))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await open_drift(pilot)
        await pilot.press(*"o" * 5)
        await pilot.pause()
        # p-values: income 1e-12, age 0.72; payment_method's chi2 p-value; tenure and zip none
        keys = table_keys(pilot.app)
        assert keys[0] == "income"
        assert keys.index("income") < keys.index("age")
        assert set(keys[-2:]) == {"tenure_days", "zip"}
        assert "sorted by p-value ↑" in pilot.app.screen.query_one("#breadcrumb").render().plain


async def test_the_drift_sort_holds_when_a_new_snapshot_arrives() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await open_drift(pilot)
        await pilot.press("o")
        await pilot.pause()
        assert table_keys(pilot.app) == ["age", "income", "payment_method", "tenure_days"]
        feed.publish(snapshot(drifting_model(drift=drift_report(
            *four_features(age=20.0), feature_drift("account_type")))))
        await pilot.pause()
        assert table_keys(pilot.app) == ["account_type", "age", "income", "payment_method",
                                         "tenure_days"]


async def test_slash_filters_the_drift_features_and_escape_clears_then_goes_back() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        screen = await open_drift(pilot)
        await pilot.press("slash", *"ME")
        await pilot.pause()
        assert table_keys(pilot.app) == ["income", "payment_method"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen.focused, KeyedTable)
        await pilot.press("j")
        assert pilot.app.screen.query_one(KeyedTable).selected_key == "payment_method"
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert table_keys(pilot.app) == ["income", "payment_method", "tenure_days", "age"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, DriftScreen)


async def test_typing_view_keys_into_the_filter_types_them_instead_of_switching_view() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await open_drift(pilot)
        await pilot.press("slash", *"dcsqjkgGoi")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        assert table_keys(pilot.app) == []


async def test_the_filter_holds_when_a_new_snapshot_arrives() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await open_drift(pilot)
        await pilot.press("slash", *"age", "enter")
        await pilot.pause()
        feed.publish(snapshot(drifting_model(drift=drift_report(
            *four_features(), feature_drift("page_views")))))
        await pilot.pause()
        assert table_keys(pilot.app) == ["age", "page_views"]


async def test_slash_filters_the_quality_features() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QualityScreen)
        await pilot.press("slash", *"pay")
        await pilot.pause()
        assert table_keys(pilot.app) == ["payment_method"]


async def test_a_hostile_filter_is_matched_literally_and_shown_inert() -> None:
    hostile = "[bold]x\x1b[31m"
    feed = FakeFeed(snapshot(drifting_model(drift=drift_report(
        feature_drift(hostile), feature_drift("age")))))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await open_drift(pilot)
        await pilot.press("slash", *"[bold]")
        await pilot.pause()
        assert table_keys(pilot.app) == [hostile]
        crumb = pilot.app.screen.query_one("#breadcrumb").render().plain
        assert "filter '[bold]'" in crumb
        assert "feature [bold]x\u241b[31m" in crumb
