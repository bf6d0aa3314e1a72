"""The quality screen: one model's data quality, feature by feature, driven through Pilot."""

from __future__ import annotations

from console_view import screen_text, table_keys
from factories import drifting_model, feature_quality, model_snapshot, quality_report, snapshot
from fake_feed import FakeFeed

from neural_tui.app.app import NeuralTuiApp
from neural_tui.widgets.keyed_table import KeyedTable


async def test_quality_screen_lists_features_worst_first_with_counts_by_kind() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert table_keys(pilot.app) == ["payment_method", "income", "age"]
        text = screen_text(pilot.app)
        assert "score 0.973 · rows 1,000 · missing 1.20 %" in text
        assert "schema: every reference feature present, none unexpected" in text
        income = next(line for line in text.splitlines() if line.startswith(" income "))
        assert "12 (1.20 %)  null 10, NaN 2" in income
        assert "20: crypto, voucher" in text
        assert "payment_method · 1,000 checked" in text


async def test_quality_rows_update_in_place_and_schema_problems_are_named() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        table = pilot.app.screen.query_one(KeyedTable)
        await pilot.press("down")
        assert table.selected_key == "income"
        worse = quality_report(
            feature_quality("income", null_count=900, severity=0.9),
            feature_quality("age", severity=0.0),
            feature_quality("payment_method", kind="categorical", severity=0.02),
            missing_features=("zip",),
            unexpected_features=("ssn",),
        )
        feed.publish(snapshot(drifting_model(quality=worse)))
        await pilot.pause()
        assert pilot.app.screen.query_one(KeyedTable) is table
        assert table.row_count == 3
        assert table_keys(pilot.app) == ["income", "payment_method", "age"]
        assert table.selected_key == "income"
        assert "schema: missing features: zip · unexpected features: ssn" in screen_text(
            pilot.app
        )


async def test_quality_screen_waits_for_the_first_run() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert "Waiting for the first quality run (engines run every 10 s)" in screen_text(
            pilot.app
        )
