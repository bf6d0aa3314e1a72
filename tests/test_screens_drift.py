"""The drift drill-down and the keys shared by both drill-downs, driven through Textual's Pilot
with hand-built reports (the quality screen's own tests: `test_screens_quality.py`)."""

from __future__ import annotations

from typing import Any

import pytest
from console_view import panel_named, rendered, screen_text, table_keys
from factories import (
    categorical_drift,
    concept_state,
    drift_report,
    drifting_model,
    feature_drift,
    feature_quality,
    four_features,
    model_snapshot,
    performance_report,
    quality_report,
    snapshot,
)
from fake_feed import FakeFeed
from textual.app import App
from textual.widgets import Sparkline

from neural_tui.app.app import NeuralTuiApp
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.widgets.feature_drift_detail import FeatureDriftDetail
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_panel import DATASET_DRIFT_CLASS


async def open_drift(pilot: Any) -> None:
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


# --- keys -----------------------------------------------------------------------------------


async def test_enter_on_a_panel_opens_that_models_drift_and_escape_goes_back() -> None:
    feed = FakeFeed(snapshot(drifting_model("alpha"), drifting_model("beta")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        assert pilot.app.screen.uid == "beta"
        assert "beta · 1.0.0 · drift" in screen_text(pilot.app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)
        assert getattr(pilot.app.screen.focused, "uid", None) == "beta"


@pytest.mark.parametrize(("key", "screen_type"), [("d", DriftScreen), ("c", QualityScreen)])
async def test_d_and_shift_q_reach_drift_and_quality_of_the_focused_model(
    key: str, screen_type: type
) -> None:
    feed = FakeFeed(snapshot(drifting_model("alpha"), drifting_model("beta")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        await pilot.press("j", key)
        await pilot.pause()
        assert isinstance(pilot.app.screen, screen_type)
        assert pilot.app.screen.uid == "beta"


async def test_switching_between_drift_and_quality_keeps_escape_one_step_from_overview() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_drift(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(pilot.app.screen, QualityScreen)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(pilot.app.screen, DriftScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_help_on_the_drift_screen_lists_its_keys() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(80, 40)) as pilot:
        await open_drift(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(pilot.app)
        for description in ("Back", "Drift", "Quality", "Quit"):
            assert description in text


# --- drift table ----------------------------------------------------------------------------


async def test_drift_screen_waits_for_the_first_run_when_there_is_no_report() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fraud")))
    async with NeuralTuiApp(feed, engine_interval_seconds=30).run_test() as pilot:
        await open_drift(pilot)
        assert "Waiting for the first drift run (engines run every 30 s)" in screen_text(
            pilot.app
        )
        feed.publish(snapshot(drifting_model()))
        await pilot.pause()
        assert "Waiting" not in screen_text(pilot.app)
        assert table_keys(pilot.app) == ["income", "payment_method", "tenure_days", "age"]


async def test_features_are_listed_worst_first_with_test_values_and_a_drift_marker() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await open_drift(pilot)
        assert table_keys(pilot.app) == ["income", "payment_method", "tenure_days", "age"]
        lines = screen_text(pilot.app).splitlines()
        income = next(line for line in lines if line.startswith(" income "))
        assert income.split() == ["income", "▲", "yes", "KS", "0.31", "1.0e-12", "0.05", "num"]
        tenure = next(line for line in lines if line.startswith(" tenure_days "))
        assert tenure.split() == ["tenure_days", "no", "W", "normed", "0.07", "n/a", "0.1", "num"]


async def test_rows_are_updated_in_place_and_the_cursor_follows_its_feature() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await open_drift(pilot)
        table = pilot.app.screen.query_one(KeyedTable)
        await pilot.press("down", "down", "down")
        assert table.selected_key == "age"
        assert table.cursor_row == 3

        age_now_worst = feature_drift(
            "age", statistic=0.5, p_value=1e-30, drifted=True, severity=20.0
        )
        features = (age_now_worst, *four_features()[1:])
        feed.publish(snapshot(drifting_model(drift=drift_report(*features))))
        await pilot.pause()

        assert pilot.app.screen.query_one(KeyedTable) is table
        assert table.row_count == 4
        assert table_keys(pilot.app) == ["age", "income", "payment_method", "tenure_days"]
        assert table.selected_key == "age"
        assert table.cursor_row == 0
        age = next(line for line in screen_text(pilot.app).splitlines() if line.startswith(" age "))
        assert age.split()[:6] == ["age", "▲", "yes", "KS", "0.5", "1.0e-30"]


async def test_features_that_come_and_go_gain_and_lose_their_rows() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_drift(pilot)
        features = (*four_features()[1:], feature_drift("zip_code", severity=0.5))
        feed.publish(snapshot(drifting_model(drift=drift_report(*features))))
        await pilot.pause()
        assert table_keys(pilot.app) == ["income", "payment_method", "tenure_days", "zip_code"]


# --- detail of the selected feature ---------------------------------------------------------


async def test_the_selected_feature_shows_distributions_tests_and_history() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await open_drift(pilot)
        detail = pilot.app.screen.query_one(FeatureDriftDetail)
        shown = rendered(pilot.app, detail)
        assert "income · numeric · KS · DRIFTED" in shown
        assert "(-inf, -1.28)   10.0%" in shown
        assert "[0.84, 1.28)    10.0%" in shown
        assert "9.0%" in shown
        for name, value in [("KS stat", "0.031"), ("KS p", "0.7200"), ("PSI", "0.012"),
                            ("Wasserstein", "0.041"), ("W normed", "0.04"),
                            ("JS distance", "0.05")]:
            assert any(name in line and line.rstrip().endswith(value)
                       for line in shown.splitlines()), name
        assert detail.query_one("#feature-history", Sparkline).data == (0.02, 0.1, 0.31)

        await pilot.press("down")
        await pilot.pause()
        shown = rendered(pilot.app, detail)
        assert "payment_method · categorical · chi2 · DRIFTED" in shown
        assert "card" in shown and "wire" in shown
        assert "chi2 p" in shown and "3.4e-10" in shown
        assert "KS stat" not in shown
        assert detail.query_one("#feature-history", Sparkline).data == ()


async def test_header_reports_corrections_prediction_and_concept_drift() -> None:
    report = drift_report(
        *four_features(),
        bonferroni=("income",),
        prediction=feature_drift("prediction", statistic=0.04, p_value=0.3),
        concept=concept_state(drift_detected=True, normalised=1.4),
    )
    feed = FakeFeed(snapshot(drifting_model(drift=report)))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_drift(pilot)
        text = screen_text(pilot.app)
        assert (
            "reference 1,000 · current 1,000 · 2 of 4 features drifted (50.00 %) · DATASET DRIFT"
            in text
        )
        assert "features drifted: uncorrected 2 (used) · Bonferroni 1 · BH 2" in text
        assert "model output: prediction stable (KS 0.04, p 0.3000)" in text
        assert "concept DRIFT (Page-Hinkley at 1.40 of threshold)" in text
        assert pilot.app.screen.has_class("-dataset-drift")


async def test_performance_shows_labelled_count_beside_every_figure() -> None:
    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await open_drift(pilot)
        assert (
            "accuracy 91.20 % n=850 · precision 88.00 % n=850 · recall 80.10 % n=850 · "
            "F1 83.86 % n=850" in screen_text(pilot.app)
        )
        assert "FEW LABELS" not in screen_text(pilot.app)


async def test_few_labels_are_marked_in_words_on_the_screen_and_the_panel() -> None:
    few = performance_report(task="regression", n_labelled=5, accuracy=None, precision=None,
                             recall=None, f1=None, mae=0.25, rmse=0.5)
    feed = FakeFeed(snapshot(drifting_model(performance=few)))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert "MAE 0.25 n=5 (few labels)" in rendered(pilot.app, panel_named(pilot.app, "fraud"))
        await open_drift(pilot)
        text = screen_text(pilot.app)
        assert "MAE 0.25 n=5 · RMSE 0.5 n=5" in text
        assert "FEW LABELS (5 < 30)" in text


async def test_a_model_no_longer_reported_says_so_instead_of_stale_figures() -> None:
    feed = FakeFeed(snapshot(drifting_model(), model_snapshot("other")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_drift(pilot)
        feed.publish(snapshot(model_snapshot("other")))
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "fraud · no longer reported" in text
        assert "income" not in text


# --- overview summary -----------------------------------------------------------------------


async def test_panel_summarises_drift_quality_and_accuracy_and_marks_dataset_drift() -> None:
    calm = drift_report(*four_features(), dataset_drift_share=0.75)
    feed = FakeFeed(snapshot(drifting_model("calm", drift=calm), drifting_model("hot")))
    async with NeuralTuiApp(feed).run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        hot = panel_named(pilot.app, "hot")
        for verdict in ("▲ 2/4 drifted", "quality 0.973", "accuracy 91.20 % n=850"):
            assert verdict in rendered(pilot.app, hot)
        assert hot.has_class(DATASET_DRIFT_CLASS)
        calm_panel = panel_named(pilot.app, "calm")
        assert "2/4 drifted" in rendered(pilot.app, calm_panel)
        assert "▲" not in rendered(pilot.app, calm_panel)
        assert not calm_panel.has_class(DATASET_DRIFT_CLASS)


async def test_panel_without_engine_results_says_the_first_run_is_pending() -> None:
    feed = FakeFeed(snapshot(model_snapshot("fresh")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert "drift: first run pending" in rendered(pilot.app, panel_named(pilot.app, "fresh"))


# --- only the active screen renders ---------------------------------------------------------


async def test_covered_screens_do_not_render_and_catch_up_when_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[str] = []

    def record(name: str, original: Any) -> Any:
        def show(screen: Any, shown_snapshot: Snapshot) -> None:
            shown.append(name)
            original(screen, shown_snapshot)

        return show

    feed = FakeFeed(snapshot(drifting_model()))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await open_drift(pilot)
        monkeypatch.setattr(OverviewScreen, "show", record("overview", OverviewScreen.show))
        monkeypatch.setattr(DriftScreen, "show", record("drift", DriftScreen.show))
        feed.publish(snapshot(drifting_model(throughput_rps=77.0)))
        await pilot.pause()
        assert shown == ["drift"]

        await pilot.press("question_mark")
        await pilot.pause()
        feed.publish(snapshot(drifting_model(throughput_rps=78.0)))
        await pilot.pause()
        assert shown == ["drift"]

        await pilot.press("escape", "escape")
        await pilot.pause()
        assert shown == ["drift", "drift", "overview"]
        assert "78.0 rps" in rendered(pilot.app, panel_named(pilot.app, "fraud"))


# --- untrusted text -------------------------------------------------------------------------

HOSTILE_FEATURE = "[bold red]x\x1b[31m"
HOSTILE_CATEGORY = "[i]\x07\x9b"


def hostile_model() -> ModelSnapshot:
    feature = categorical_drift(
        HOSTILE_FEATURE,
        bins=("card", HOSTILE_CATEGORY),
        reference_shares=(0.9, 0.1),
        current_shares=(0.5, 0.5),
    )
    quality = quality_report(
        feature_quality(
            HOSTILE_FEATURE,
            kind="categorical",
            new_category_count=3,
            new_category_distinct=1,
            new_categories=((HOSTILE_CATEGORY, 3),),
            severity=0.5,
        ),
        unexpected_features=(HOSTILE_FEATURE,),
    )
    return drifting_model(drift=drift_report(feature), quality=quality)


def rendered_segments(app: App[Any]) -> str:
    return "".join(
        segment.text for strip in app.screen._compositor.render_strips() for segment in strip
    )


FEATURE_SHOWN = "[bold red]x\u241b[31m"
CATEGORY_SHOWN = "[i]\u2407<U+009B>"


@pytest.mark.parametrize("key", ["d", "c"])
async def test_markup_and_escapes_in_feature_and_category_names_are_shown_literally(
    key: str,
) -> None:
    feed = FakeFeed(snapshot(hostile_model()))
    async with NeuralTuiApp(feed).run_test(size=(200, 40)) as pilot:
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        text = rendered_segments(pilot.app)
        assert not any(char in text for char in "\x1b\x07\x9b")
        assert FEATURE_SHOWN in text
        assert CATEGORY_SHOWN in text
