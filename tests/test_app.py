"""The console, driven through Textual's Pilot against a scripted feed."""

from __future__ import annotations

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest
from console_view import panel_named, panels, rendered, screen_lines, screen_text
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Sparkline

from neural_tui.app.app import SWITCH_INTERVAL_SECONDS, NeuralTuiApp
from neural_tui.app.messages import SnapshotArrived
from neural_tui.config import HealthSection, load_settings
from neural_tui.keymap import BINDING_IDS
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.safe_text import PLACEHOLDER_STYLE, plain, safe_text
from neural_tui.screens.alerts import AlertsScreen
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.screens.help import HelpScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.screens.silence import SilenceScreen
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_filter import ModelFilter
from neural_tui.widgets.model_panel import (
    DATASET_DRIFT_CLASS,
    HIGH_ERROR_RATE_CLASS,
    HIGH_LATENCY_CLASS,
    ModelPanel,
)
from neural_tui.widgets.status_line import StatusLine

# --- safe_text ------------------------------------------------------------------------------


def test_safe_text_keeps_markup_literal() -> None:
    assert safe_text("[bold red]x[/]").plain == "[bold red]x[/]"
    assert safe_text("[bold red]x[/]").spans == []


def test_safe_text_replaces_c0_del_c1_and_bidi_controls_with_visible_placeholders() -> None:
    text = safe_text("a\x1b[31mb\x07c\x7fd\x9be\u202ef\ng")
    assert text.plain == "a\u241b[31mb\u2407c\u2421d<U+009B>e<U+202E>f\u240ag"
    placeholders = [text.plain[span.start : span.end] for span in text.spans]
    assert placeholders == ["\u241b", "\u2407", "\u2421", "<U+009B>", "<U+202E>", "\u240a"]
    assert {span.style for span in text.spans} == {PLACEHOLDER_STYLE}


def test_a_lone_surrogate_from_a_json_escape_shows_as_its_code_and_encodes_as_utf8() -> None:
    text = safe_text("model\ud800x")
    assert text.plain == "model<U+D800>x"
    assert plain("model\udfff").encode("utf-8") == b"model<U+DFFF>"


def test_safe_text_leaves_ordinary_unicode_alone() -> None:
    assert safe_text("modèle · 推荐 v2 ✓").plain == "modèle · 推荐 v2 ✓"


# --- overview -------------------------------------------------------------------------------


async def test_a_panel_appears_for_each_model_in_name_order() -> None:
    feed = FakeFeed(snapshot(model_snapshot("ranker"), model_snapshot("churn", version="2.1")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert [panel.uid for panel in panels(pilot.app)] == ["churn", "ranker"]
        assert "churn · 2.1" in rendered(pilot.app, panel_named(pilot.app, "churn"))


async def test_a_panel_counts_one_of_each_in_the_singular() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn", predictions_total=1, labels_total=1,
                                            errors_total={"timeout": 1})))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert "1 prediction · 1 label · 1 error (timeout 1)" in rendered(
            pilot.app, panel_named(pilot.app, "churn"))


async def test_panel_figures_change_in_place_when_a_new_snapshot_arrives() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "churn")
        before = rendered(pilot.app, panel)
        assert "20.0 rps" in before
        assert "42.5 ms" in before
        assert "0.00 %" in before
        assert "12,000 predictions · 3,000 labels · 0 errors" in before

        feed.publish(
            snapshot(
                model_snapshot(
                    "churn",
                    throughput_rps=1234.5,
                    latency_p95_ms=None,
                    error_rate=0.0125,
                    predictions_total=13_000,
                    labels_total=3_100,
                    errors_total={"TimeoutError": 7, "ValueError": 9},
                    throughput_series=(1.0, 2.0, 3.0),
                )
            )
        )
        await pilot.pause()

        assert panel_named(pilot.app, "churn") is panel
        after = rendered(pilot.app, panel)
        assert "1,234.5 rps" in after
        assert "p95 latency          n/a" in after
        assert "1.25 %" in after
        assert "13,000 predictions · 3,100 labels · 16 errors (ValueError 9, TimeoutError 7)" in (
            after
        )
        assert panel.query_one("#throughput-series", Sparkline).data == (1.0, 2.0, 3.0)


async def test_a_model_that_appears_later_gets_its_panel_in_name_order() -> None:
    feed = FakeFeed(snapshot(model_snapshot("alpha"), model_snapshot("gamma")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        first_alpha = panel_named(pilot.app, "alpha")
        feed.publish(snapshot(*(model_snapshot(n) for n in ("alpha", "beta", "gamma"))))
        await pilot.pause()
        assert [panel.uid for panel in panels(pilot.app)] == ["alpha", "beta", "gamma"]
        assert panel_named(pilot.app, "alpha") is first_alpha


async def test_a_model_no_longer_reported_loses_its_panel() -> None:
    feed = FakeFeed(snapshot(model_snapshot("alpha"), model_snapshot("beta")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        feed.publish(snapshot(model_snapshot("beta")))
        await pilot.pause()
        assert [panel.uid for panel in panels(pilot.app)] == ["beta"]


async def test_without_models_the_overview_says_it_waits_for_records_in_the_storage() -> None:
    feed = FakeFeed()
    async with NeuralTuiApp(feed, source_label="/srv/monitoring_data").run_test() as pilot:
        await pilot.pause()
        assert "waiting for records in /srv/monitoring_data..." in screen_text(pilot.app)
        feed.publish(snapshot(model_snapshot("churn")))
        await pilot.pause()
        assert "waiting for records" not in screen_text(pilot.app)


async def test_status_line_shows_ingest_counts_skip_reasons_last_skip_range_and_time() -> None:
    feed = FakeFeed(
        snapshot(
            model_snapshot("churn"),
            records_total=12_345,
            line_problems={"bad_json": 2, "missing_field": 5},
            last_messages=("old message", "predictions/a.jsonl:12: key 'timestamp' missing"),
        )
    )
    async with NeuralTuiApp(feed).run_test(size=(100, 24)) as pilot:
        await pilot.pause()
        status = rendered(pilot.app, pilot.app.screen.query_one(StatusLine))
        assert "12,345 records · 7 skipped (missing_field 5, bad_json 2)" in status
        assert "predictions/a.jsonl:12: key 'timestamp' missing" in status
        assert "old message" not in status
        assert "last 1m" in status
        assert "00:00:00 UTC" in status


async def test_non_finite_points_in_a_series_do_not_break_the_panel() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        feed.publish(
            snapshot(
                model_snapshot(
                    "churn",
                    latency_p95_ms=float("inf"),
                    latency_p95_series=(1.0, float("inf"), float("nan"), 4.0),
                )
            )
        )
        await pilot.pause()
        panel = panel_named(pilot.app, "churn")
        assert panel.query_one("#latency-p95-series", Sparkline).data == (1.0, 0.0, 0.0, 4.0)
        assert "inf ms" in rendered(pilot.app, panel)


async def test_high_error_rate_marks_the_panel_and_recovery_clears_it() -> None:
    feed = FakeFeed(
        snapshot(model_snapshot("calm", error_rate=0.05), model_snapshot("hot", error_rate=0.051))
    )
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert not panel_named(pilot.app, "calm").has_class(HIGH_ERROR_RATE_CLASS)
        assert panel_named(pilot.app, "hot").has_class(HIGH_ERROR_RATE_CLASS)
        feed.publish(snapshot(model_snapshot("calm"), model_snapshot("hot", error_rate=0.01)))
        await pilot.pause()
        assert not panel_named(pilot.app, "hot").has_class(HIGH_ERROR_RATE_CLASS)


def health_from_config(tmp_path: Path, section: str) -> HealthSection:
    config = tmp_path / "neural-tui.toml"
    config.write_text(f"[health]\n{section}\n", encoding="utf-8")
    return load_settings(config).health


@pytest.mark.parametrize(("max_error_rate", "marked"), [(0.5, False), (0.05, True)])
async def test_the_panel_marks_the_error_rate_against_the_configured_health_limit(
    tmp_path: Path, max_error_rate: float, marked: bool
) -> None:
    health = health_from_config(tmp_path, f"max_error_rate = {max_error_rate}")
    feed = FakeFeed(snapshot(model_snapshot("churn", error_rate=0.10)))
    async with NeuralTuiApp(feed, health=health).run_test() as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "churn")
        assert panel.has_class(HIGH_ERROR_RATE_CLASS) is marked
        assert (panel.styles.border_top[0] == "heavy") is marked


@pytest.mark.parametrize(("section", "marked"), [
    ("max_latency_p95_ms = 40", True),
    ("max_latency_p95_ms = 50", False),
    ("", False),
])
async def test_the_panel_marks_p95_latency_only_above_a_configured_limit(
    tmp_path: Path, section: str, marked: bool
) -> None:
    health = health_from_config(tmp_path, section)
    feed = FakeFeed(snapshot(model_snapshot("churn", latency_p95_ms=42.5)))
    async with NeuralTuiApp(feed, health=health).run_test() as pilot:
        await pilot.pause()
        assert panel_named(pilot.app, "churn").has_class(HIGH_LATENCY_CLASS) is marked


async def test_a_burst_of_snapshots_renders_only_the_newest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[float] = []
    show = OverviewScreen.show

    def record(screen: OverviewScreen, shown_snapshot: Snapshot) -> None:
        shown.append(shown_snapshot.generated_at)
        show(screen, shown_snapshot)

    feed = FakeFeed(snapshot(model_snapshot("churn")))
    app = NeuralTuiApp(feed)
    async with app.run_test() as pilot:
        await pilot.pause()
        monkeypatch.setattr(OverviewScreen, "show", record)
        for second in (1.0, 2.0, 3.0):
            feed.publish(replace(snapshot(model_snapshot("churn")), generated_at=second))
        await pilot.pause()
        assert shown == [3.0]
        assert app.snapshot.generated_at == 3.0


def test_a_queued_snapshot_gives_way_to_a_newer_one_and_only_to_a_snapshot() -> None:
    older = SnapshotArrived(replace(snapshot(), generated_at=1.0))
    newer = SnapshotArrived(replace(snapshot(), generated_at=2.0))
    assert older.can_replace(newer)
    assert not older.can_replace(Message())


# --- untrusted text -------------------------------------------------------------------------


async def test_markup_in_a_model_name_is_shown_literally() -> None:
    feed = FakeFeed(snapshot(model_snapshot("[bold red]x", version="[link=http://e]v")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert "[bold red]x · [link=http://e]v" in screen_text(pilot.app)


async def test_why_a_panel_has_no_drift_yet_is_shown_literally() -> None:
    """The reason may quote a path or an engine's error: text, never markup."""
    waiting = "/data/[v2]/ref.jsonl: reference file not found"
    feed = FakeFeed(snapshot(model_snapshot("churn", drift=None, analysis_waiting=waiting)))
    async with NeuralTuiApp(feed).run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        words = rendered(pilot.app, panels(pilot.app)[0]).replace("│", " ").split()
        assert f"drift: {waiting}" in " ".join(words)


@pytest.mark.parametrize("hostile", ["\x1b[31mred", "\x1b]0;pwned\x07", "\x9b2J"])
async def test_escape_sequences_from_logs_never_reach_the_rendered_output(hostile: str) -> None:
    feed = FakeFeed(
        snapshot(
            model_snapshot(hostile, version=hostile, errors_total={hostile: 3}),
            line_problems={hostile: 1},
            last_messages=(hostile,),
        )
    )
    async with NeuralTuiApp(feed, source_label=hostile).run_test() as pilot:
        await pilot.pause()
        segments = [
            segment.text
            for strip in pilot.app.screen._compositor.render_strips()
            for segment in strip
        ]
        rendered_text = "".join(segments)
        assert not any(char in rendered_text for char in "\x1b\x07\x9b")
        visible = hostile.replace("\x1b", "\u241b").replace("\x07", "\u2407")
        assert visible.replace("\x9b", "<U+009B>") in rendered_text


# --- keys -----------------------------------------------------------------------------------


async def test_q_quits_unsubscribes_and_cancels_the_feed() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    app = NeuralTuiApp(feed)
    async with app.run_test() as pilot:
        await pilot.pause()
        assert feed.running
        assert len(feed.listeners) == 1
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
    assert feed.cancelled
    assert feed.listeners == []


async def test_a_configured_keymap_rebinds_quit_and_the_old_key_no_longer_quits(
    tmp_path: Path,
) -> None:
    config = tmp_path / "neural-tui.toml"
    config.write_text('[keys]\n"app.quit" = "x"\n', encoding="utf-8")
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn"))),
                       keys=load_settings(config).keys)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running
        assert app.return_code is None
        await pilot.press("x")
        await pilot.pause()
        assert app.return_code == 0


async def test_one_binding_id_rebinds_a_key_on_the_overview_and_on_the_drill_downs() -> None:
    app = NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn"))), keys={"model.quality": "y"})
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, QualityScreen)
        await pilot.press("d", "y")
        await pilot.pause()
        assert isinstance(app.screen, QualityScreen)


def test_every_binding_of_the_console_has_a_known_id_and_every_id_is_bound() -> None:
    owners = (NeuralTuiApp, OverviewScreen, DrillDownScreen, HelpScreen, ModelPanel, ModelFilter,
              AlertsScreen, SilenceScreen, KeyedTable)
    bindings = [binding for owner in owners for binding in owner.BINDINGS]
    assert all(isinstance(binding, Binding) for binding in bindings)
    ids = [binding.id for binding in bindings if isinstance(binding, Binding)]
    assert None not in ids
    assert set(ids) == set(BINDING_IDS)


async def test_p_pauses_then_resumes_the_feed_and_the_status_line_says_so() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        assert "PAUSED" not in screen_text(pilot.app)
        await pilot.press("p")
        await pilot.pause()
        assert feed.paused_calls == [True]
        assert "PAUSED" in screen_text(pilot.app)
        await pilot.press("p")
        await pilot.pause()
        assert feed.paused_calls == [True, False]
        assert "PAUSED" not in screen_text(pilot.app)


async def test_help_lists_the_keys_of_the_app_screen_and_focused_panel() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        lines = screen_lines(pilot.app)
        for keys, description in [
            ("^q q", "Quit"),
            ("?", "Help"),
            ("p", "Pause/resume"),
            ("↓ j →", "Next model"),
            ("↑ k ←", "Previous model"),
            ("⏎", "Open model"),
        ]:
            assert any(keys in line and description in line for line in lines), description


async def test_help_is_read_from_the_bindings_not_a_fixed_list() -> None:
    class AppWithExtraKey(NeuralTuiApp):
        BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "bell", "Ring the bell")]

    async with AppWithExtraKey(FakeFeed()).run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert any("x" in line and "Ring the bell" in line for line in screen_lines(pilot.app))


@pytest.mark.parametrize("close_key", ["escape", "question_mark"])
async def test_escape_or_question_mark_closes_help(close_key: str) -> None:
    async with NeuralTuiApp(FakeFeed()).run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(pilot.app.screen, HelpScreen)
        await pilot.press(close_key)
        await pilot.pause()
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_snapshots_arriving_under_help_show_once_it_closes() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        feed.publish(snapshot(model_snapshot("churn", throughput_rps=99.0)))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert "99.0 rps" in rendered(pilot.app, panel_named(pilot.app, "churn"))


@pytest.mark.parametrize(("forward", "backward"), [("down", "up"), ("j", "k"), ("tab", "k")])
async def test_keys_move_the_selection_between_panels(forward: str, backward: str) -> None:
    feed = FakeFeed(snapshot(*(model_snapshot(n) for n in ("alpha", "beta", "gamma"))))
    async with NeuralTuiApp(feed).run_test() as pilot:
        await pilot.pause()
        focused = pilot.app.screen.focused
        assert isinstance(focused, ModelPanel)
        assert focused.uid == "alpha"
        await pilot.press(forward, forward)
        assert getattr(pilot.app.screen.focused, "uid", None) == "gamma"
        await pilot.press(backward)
        assert getattr(pilot.app.screen.focused, "uid", None) == "beta"


async def test_at_80x24_panels_beyond_the_screen_scroll_into_view_when_selected() -> None:
    names = [f"model-{index}" for index in range(1, 7)]
    feed = FakeFeed(snapshot(*(model_snapshot(name) for name in names)))
    async with NeuralTuiApp(feed).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "model-6" not in screen_text(pilot.app)
        await pilot.press(*["j"] * 5)
        await pilot.pause()
        assert "model-6 · 1.0.0" in screen_text(pilot.app)


async def test_enter_on_a_panel_asks_to_open_that_model() -> None:
    seen: list[ModelPanel.Opened] = []

    def record(message: Message) -> None:
        if isinstance(message, ModelPanel.Opened):
            seen.append(message)

    feed = FakeFeed(snapshot(model_snapshot("alpha"), model_snapshot("beta")))
    async with NeuralTuiApp(feed).run_test(message_hook=record) as pilot:
        await pilot.pause()
        await pilot.press("j", "enter")
        await pilot.pause()
    # The hook sees a message again at each node it bubbles through; count distinct ones.
    distinct = {id(message): message for message in seen}.values()
    assert [message.uid for message in distinct] == ["beta"]


async def test_a_hangup_signal_exits_cleanly_and_restores_the_handler() -> None:
    feed = FakeFeed(snapshot(model_snapshot("churn")))
    app = NeuralTuiApp(feed)
    handler_before = signal.getsignal(signal.SIGHUP)
    async with app.run_test() as pilot:
        await pilot.pause()
        # Without the app's handler in place, SIGHUP would end the test process itself.
        assert signal.getsignal(signal.SIGHUP) is not handler_before
        os.kill(os.getpid(), signal.SIGHUP)
        await pilot.pause()
        assert app.return_code == 0
    assert feed.cancelled
    assert signal.getsignal(signal.SIGHUP) is handler_before


async def test_a_panel_says_why_its_model_has_no_drift_report_yet() -> None:
    waiting = model_snapshot("churn", analysis_waiting="reference 92/1000 records")
    async with NeuralTuiApp(FakeFeed(snapshot(waiting))).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "drift: reference 92/1000 records" in rendered(pilot.app,
                                                               panel_named(pilot.app, "churn"))


async def test_a_panel_marks_a_model_that_drifted_by_any_kind_not_only_its_features() -> None:
    concept = model_snapshot("churn", analysis_waiting="reference 92/1000 records",
                             drifted=True, drift_kinds=("concept", "performance"))
    async with NeuralTuiApp(FakeFeed(snapshot(concept))).run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = panel_named(pilot.app, "churn")
        assert "▲ concept, performance drift" in rendered(pilot.app, panel)
        assert panel.has_class(DATASET_DRIFT_CLASS)


async def test_the_console_lets_its_event_loop_take_the_gil_every_millisecond_while_it_runs(
) -> None:
    before = sys.getswitchinterval()
    async with NeuralTuiApp(FakeFeed(snapshot(model_snapshot("churn")))).run_test() as pilot:
        await pilot.pause()
        assert sys.getswitchinterval() == SWITCH_INTERVAL_SECONDS < before
    assert sys.getswitchinterval() == before
