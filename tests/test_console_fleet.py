"""The console over a fleet: models from local storage, targets and Prometheus grouped by source,
the filter, remote panels and drill-downs, the status line, and the console's wiring."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from console_view import panels, rendered, screen_text
from factories import FIXED_TIME, model_snapshot, snapshot
from fake_feed import FakeFeed
from fake_fleet import (
    FakeRemoteSource,
    exporter_status,
    fleet_snapshot,
    prometheus_view,
    remote_model,
    rich_figures,
    target_view,
)
from textual.pilot import Pilot
from textual.widgets import Sparkline

from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.fleet_groups import Fleet
from neural_tui.app.formatting import format_ago
from neural_tui.config import load_settings
from neural_tui.console import AlertingFeed, console_app
from neural_tui.remote_models import FeatureDriftFigure, RemoteFigures, SLOFigure
from neural_tui.runtime.pipeline import Runtime
from neural_tui.runtime.snapshot import Snapshot, SourceHealth
from neural_tui.screens.drift import DriftScreen, remote_rows, threshold_share
from neural_tui.screens.overview import OverviewScreen, SourceGroup
from neural_tui.screens.quality import QualityScreen
from neural_tui.screens.slo import SLOScreen, burn_rates_by_window
from neural_tui.widgets.alert_feed import ALERTING_CLASSES
from neural_tui.widgets.feature_drift_detail import FeatureDriftDetail
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_filter import ModelFilter
from neural_tui.widgets.model_panel import DATASET_DRIFT_CLASS, ModelPanel
from neural_tui.widgets.status_line import StatusLine

FLEET = Fleet(targets=("host-1", "host-2"), prometheus_url="http://127.0.0.1:9090")
PROMETHEUS_UP = (SourceHealth("prometheus", "ok", ""),)


def fleet() -> Snapshot:
    """fraud-detector locally; churn on host-1 (up, everything exported); host-2 down without
    models; ranker and churn through Prometheus, churn still waiting for its rates."""
    return fleet_snapshot(
        [model_snapshot("fraud-detector")],
        [
            target_view("host-1", remote_model("churn", figures=rich_figures())),
            target_view("host-2", up=False, detail="timed out after 2 s"),
            prometheus_view(remote_model("ranker", "3.0", instance="10.0.0.5:9108"),
                            remote_model("churn", throughput_rps=None, error_rate=None)),
        ],
        source_health=PROMETHEUS_UP,
    )


def console(initial: Snapshot, fleet: Fleet = FLEET, **options: Any) -> NeuralTuiApp:
    return NeuralTuiApp(FakeFeed(initial), source_label="monitoring_data", fleet=fleet,
                        **options)


def headings(app: NeuralTuiApp) -> list[str]:
    """The group headings in view, top to bottom."""
    return [str(group.heading.render()) for group in app.screen.query(SourceGroup)
            if group.display and group.heading.display]


def shown_uids(app: NeuralTuiApp) -> list[str]:
    return [panel.uid for panel in panels(app) if panel.display]


def panel_of(app: NeuralTuiApp, uid: str) -> ModelPanel:
    return next(panel for panel in panels(app) if panel.uid == uid)


def row_keys(table: KeyedTable) -> list[str]:
    return [str(table.coordinate_to_cell_key((row, 0)).row_key.value)
            for row in range(table.row_count)]


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.pause()


# --- grouping -------------------------------------------------------------------------------


async def test_models_are_grouped_by_source_local_first_then_targets_then_prometheus() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        assert headings(pilot.app) == [
            "local storage monitoring_data",
            "target host-1 (up, 0.2 s ago)",
            "target host-2 DOWN: timed out after 2 s",
            "prometheus http://127.0.0.1:9090",
        ]
        assert shown_uids(pilot.app) == [
            "fraud-detector", "churn @ target host-1", "churn @ prometheus", "ranker @ prometheus",
        ]


async def test_one_model_name_on_two_sources_gets_a_panel_each_keyed_by_uid() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        target_panel = panel_of(pilot.app, "churn @ target host-1")
        prometheus_panel = panel_of(pilot.app, "churn @ prometheus")
        assert target_panel is not prometheus_panel
        assert "12.5 rps" in rendered(pilot.app, target_panel)
        assert "rates need a second scrape" in rendered(pilot.app, prometheus_panel)


async def test_a_console_on_local_storage_alone_shows_no_headings() -> None:
    async with console(snapshot(model_snapshot("churn")), fleet=Fleet()).run_test() as pilot:
        await settle(pilot)
        assert headings(pilot.app) == []
        assert "local storage" not in screen_text(pilot.app)


async def test_a_down_target_shows_its_heading_and_reason_even_without_models() -> None:
    down = fleet_snapshot([], [target_view("host-2", up=False, detail="connection refused")])
    async with console(down, fleet=Fleet(targets=("host-2",))).run_test() as pilot:
        await settle(pilot)
        assert headings(pilot.app) == ["target host-2 DOWN: connection refused"]
        assert "-down" in pilot.app.screen.query(SourceGroup).first().heading.classes


async def test_a_target_not_polled_yet_and_one_up_without_models_say_so() -> None:
    quiet = fleet_snapshot([], [target_view("host-1")])
    async with console(quiet, fleet=FLEET).run_test() as pilot:
        await settle(pilot)
        assert headings(pilot.app)[:2] == ["target host-1 (up, 0.2 s ago) · no models",
                                           "target host-2 (not polled yet)"]


async def test_a_failing_prometheus_shows_why_in_its_heading() -> None:
    failing = (SourceHealth("prometheus", "failing", "connection refused"),)
    down = fleet_snapshot([model_snapshot("churn")], [], source_health=failing)
    async with console(down, fleet=Fleet(prometheus_url="http://prom:9090")).run_test() as pilot:
        await settle(pilot)
        assert headings(pilot.app) == ["local storage monitoring_data",
                                       "prometheus http://prom:9090 FAILING: connection refused"]


def exporters_view(*down: str, up: int = 1) -> Snapshot:
    """ranker through Prometheus, whose `up` says `up` exporters up and those named `down`
    down."""
    exporters = [*(exporter_status(f"neural/10.0.0.{i}:9108") for i in range(up)),
                 *(exporter_status(name, up=False) for name in down)]
    return fleet_snapshot([model_snapshot("churn")],
                          [prometheus_view(remote_model("ranker"), exporters=exporters)],
                          source_health=PROMETHEUS_UP)


async def test_an_exporter_prometheus_cannot_scrape_is_said_under_prometheus_not_a_target(
) -> None:
    prometheus = Fleet(prometheus_url="http://prom:9090")
    async with console(exporters_view("neural/10.0.0.9:9108"),
                       fleet=prometheus).run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        assert headings(pilot.app) == [
            "local storage monitoring_data",
            "prometheus http://prom:9090 · 1 of 2 exporters down: neural/10.0.0.9:9108"]
        groups = list(pilot.app.screen.query(SourceGroup))
        assert "-down" in groups[-1].heading.classes
        assert shown_uids(pilot.app) == ["churn", "ranker @ prometheus"]
        status = rendered(pilot.app, pilot.app.screen.query_one(StatusLine))
        assert "prometheus exporters 1 up, 1 down" in status
        assert "targets" not in status


async def test_with_every_exporter_up_the_prometheus_heading_is_plain() -> None:
    async with console(exporters_view(up=2),
                       fleet=Fleet(prometheus_url="http://prom:9090")).run_test() as pilot:
        await settle(pilot)
        assert headings(pilot.app)[-1] == "prometheus http://prom:9090"
        assert "-down" not in list(pilot.app.screen.query(SourceGroup))[-1].heading.classes
        status = rendered(pilot.app, pilot.app.screen.query_one(StatusLine))
        assert "prometheus exporters 2 up, 0 down" in status


async def test_many_down_exporters_are_named_three_then_counted() -> None:
    down = [f"neural/host-{i}:9108" for i in range(5)]
    async with console(exporters_view(*down, up=0), fleet=Fleet(prometheus_url="http://p:9090")
                       ).run_test(size=(200, 40)) as pilot:
        await settle(pilot)
        assert headings(pilot.app)[-1] == (
            "prometheus http://p:9090 · 5 of 5 exporters down: neural/host-0:9108, "
            "neural/host-1:9108, neural/host-2:9108 (+2 more)")


async def test_a_down_exporter_name_with_markup_is_shown_literally() -> None:
    async with console(exporters_view("[b]job[/b]/\x1b[31mhost:9108", up=0),
                       fleet=Fleet(prometheus_url="http://p:9090")
                       ).run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        heading = headings(pilot.app)[-1]
        assert heading.startswith("prometheus http://p:9090 · 1 of 1 exporter down: [b]job[/b]/")
        assert "\x1b" not in heading


async def test_while_no_model_is_known_the_waiting_line_counts_the_exporters_down() -> None:
    empty = fleet_snapshot([], [prometheus_view(exporters=[
        exporter_status("neural/a:9108", up=False)])], source_health=PROMETHEUS_UP)
    app = NeuralTuiApp(FakeFeed(empty), fleet=Fleet(local=False,
                                                    prometheus_url="http://prom:9090"))
    async with app.run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        assert ("waiting for models from Prometheus at http://prom:9090 (1 of 1 exporter "
                "down)...") in screen_text(app)


async def test_groups_and_panels_follow_the_snapshots_and_keep_their_widgets() -> None:
    feed = FakeFeed(fleet_snapshot([model_snapshot("alpha")], [target_view("host-1")]))
    app = NeuralTuiApp(feed, source_label="data", fleet=Fleet(targets=("host-1",)))
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        alpha = panel_of(app, "alpha")
        feed.publish(fleet_snapshot(
            [model_snapshot("alpha"), model_snapshot("beta")],
            [target_view("host-1", remote_model("zeta"), remote_model("churn"))]))
        await settle(pilot)
        assert shown_uids(app) == ["alpha", "beta", "churn @ target host-1",
                                   "zeta @ target host-1"]
        assert panel_of(app, "alpha") is alpha
        feed.publish(fleet_snapshot([], [target_view("host-1", remote_model("zeta"))]))
        await settle(pilot)
        assert shown_uids(app) == ["zeta @ target host-1"]
        assert headings(app) == ["target host-1 (up, 0.2 s ago)"]


async def test_models_arriving_before_their_group_is_mounted_appear_once_it_is() -> None:
    feed = FakeFeed(fleet_snapshot([], []))
    app = NeuralTuiApp(feed, source_label="data", fleet=Fleet(targets=("host-1",)))
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        feed.publish(fleet_snapshot([], [target_view("host-1", remote_model("a"))]))
        feed.publish(fleet_snapshot([], [target_view("host-1", remote_model("a"),
                                                     remote_model("b"))]))
        await settle(pilot)
        await settle(pilot)
        assert shown_uids(app) == ["a @ target host-1", "b @ target host-1"]


# --- waiting and the status line ------------------------------------------------------------


async def test_without_models_the_console_says_it_waits_for_storage_targets_and_prometheus(
) -> None:
    empty = fleet_snapshot([], [target_view("host-2", up=False, detail="timed out")],
                           source_health=PROMETHEUS_UP)
    async with console(empty).run_test(size=(160, 30)) as pilot:
        await settle(pilot)
        assert ("waiting for records in monitoring_data, models from 2 targets (1 down, 1 not "
                "polled yet) and Prometheus at http://127.0.0.1:9090...") in screen_text(pilot.app)


async def test_a_console_without_local_storage_waits_for_the_fleet_alone() -> None:
    failing = (SourceHealth("prometheus", "failing", "HTTP 503"),)
    empty = fleet_snapshot([], [], source_health=failing)
    remote_only = Fleet(local=False, prometheus_url="http://prom:9090")
    app = NeuralTuiApp(FakeFeed(empty), fleet=remote_only)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert ("waiting for models from Prometheus at http://prom:9090 (failing: HTTP 503)..."
                in text)
        status = rendered(app, app.screen.query_one(StatusLine))
        assert "no local storage" in status
        assert "records" not in status


async def test_the_status_line_counts_targets_up_and_down_and_names_failing_sources() -> None:
    health = (SourceHealth("monitoring_data", "ok", ""),
              SourceHealth("prometheus", "failing", "connection refused"))
    two = fleet_snapshot([model_snapshot("churn")],
                         [target_view("host-1"), target_view("host-2", up=False),
                          target_view("host-3")], source_health=health)
    async with console(two).run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        status = rendered(pilot.app, pilot.app.screen.query_one(StatusLine))
        assert "targets 2 up, 1 down · prometheus failing: connection refused" in status
        assert "monitoring_data" not in status


async def test_the_status_line_says_nothing_of_a_fleet_when_there_is_none() -> None:
    async with console(snapshot(model_snapshot("churn")), fleet=Fleet()).run_test() as pilot:
        await settle(pilot)
        assert not pilot.app.screen.query_one("#fleet-status").display


# --- filter ---------------------------------------------------------------------------------


async def open_filter(pilot: Pilot[Any], key: str = "slash") -> ModelFilter:
    await settle(pilot)
    await pilot.press(key)
    await pilot.pause()
    focused = pilot.app.screen.focused
    assert isinstance(focused, ModelFilter)
    return focused


async def test_slash_opens_a_filter_that_narrows_panels_by_model_name_as_typed() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await open_filter(pilot)
        await pilot.press("c", "h", "U")
        await pilot.pause()
        assert shown_uids(pilot.app) == ["churn @ target host-1", "churn @ prometheus"]
        assert headings(pilot.app) == ["target host-1 (up, 0.2 s ago)",
                                       "prometheus http://127.0.0.1:9090"]


async def test_the_filter_matches_a_source_and_keeps_a_down_target_it_names() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await open_filter(pilot)
        await pilot.press(*"host")
        await pilot.pause()
        assert shown_uids(pilot.app) == ["churn @ target host-1"]
        assert headings(pilot.app) == ["target host-1 (up, 0.2 s ago)",
                                       "target host-2 DOWN: timed out after 2 s"]
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"local")
        await pilot.pause()
        assert shown_uids(pilot.app) == ["fraud-detector"]
        await pilot.press(*["backspace"] * 5, *"CHURN @ PROM")
        await pilot.pause()
        assert shown_uids(pilot.app) == ["churn @ prometheus"]


async def test_keys_typed_into_the_filter_are_text_not_commands() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        filter_input = await open_filter(pilot)
        await pilot.press("q", "d", "p")
        await pilot.pause()
        assert pilot.app.return_code is None
        assert isinstance(pilot.app.screen, OverviewScreen)
        assert filter_input.value == "qdp"
        assert shown_uids(pilot.app) == []
        assert "no model or source matches qdp (esc clears the filter)" in screen_text(pilot.app)


async def test_enter_keeps_the_filter_and_gives_the_keys_back_to_the_panels_shown() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await open_filter(pilot)
        await pilot.press(*"ranker", "enter")
        await pilot.pause()
        focused = pilot.app.screen.focused
        assert isinstance(focused, ModelPanel)
        assert focused.uid == "ranker @ prometheus"
        await pilot.press("enter")
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.uid == "ranker @ prometheus"


async def test_escape_clears_the_filter_from_its_input_and_from_the_panels() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await open_filter(pilot)
        await pilot.press(*"ranker", "escape")
        await pilot.pause()
        assert len(shown_uids(pilot.app)) == 4
        assert not pilot.app.screen.query_one(ModelFilter).display
        assert isinstance(pilot.app.screen.focused, ModelPanel)
        await pilot.press("slash", *"ranker", "enter")
        await pilot.pause()
        assert shown_uids(pilot.app) == ["ranker @ prometheus"]
        await pilot.press("escape")
        await pilot.pause()
        assert len(shown_uids(pilot.app)) == 4
        assert isinstance(pilot.app.screen, OverviewScreen)


async def test_the_filter_keeps_applying_to_the_snapshots_that_arrive() -> None:
    feed = FakeFeed(fleet())
    app = NeuralTuiApp(feed, source_label="monitoring_data", fleet=FLEET)
    async with app.run_test(size=(120, 60)) as pilot:
        await open_filter(pilot)
        await pilot.press(*"churn", "enter")
        await pilot.pause()
        feed.publish(fleet_snapshot(
            [model_snapshot("fraud-detector"), model_snapshot("churn-v2")],
            [target_view("host-1", remote_model("churn"), remote_model("ranker"))]))
        await settle(pilot)
        assert shown_uids(app) == ["churn-v2", "churn @ target host-1"]
        assert app.screen.query_one(ModelFilter).value == "churn"


async def test_the_filter_key_follows_the_configured_keymap() -> None:
    app = console(fleet(), keys={"overview.filter": "f", "filter.clear": "ctrl+u"})
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.pause()
        assert not isinstance(app.screen.focused, ModelFilter)
        filter_input = await open_filter(pilot, "f")
        await pilot.press(*"rank", "ctrl+u")
        await pilot.pause()
        assert filter_input.value == ""
        assert len(shown_uids(app)) == 4


# --- remote panels --------------------------------------------------------------------------


async def test_a_remote_panel_shows_traffic_exported_figures_instance_and_firing_alerts() -> None:
    async with console(fleet()).run_test(size=(80, 60)) as pilot:
        await settle(pilot)
        panel = panel_of(pilot.app, "churn @ target host-1")
        text = rendered(pilot.app, panel)
        assert "churn · 1.0.0" in text
        assert "12.5 rps" in text
        assert "48.0 ms" in text
        assert "1.00 %" in text
        assert "9,000 predictions · 90 errors (TimeoutError 90) · instance host-1" in text
        assert "labels" not in text
        assert "▲ 2/5 drifted" in text
        assert "quality 0.950" in text
        assert "accuracy 91.00 %" in text
        assert "● 2 firing: HighErrorRate, DriftDetected" in text
        assert panel.has_class(ALERTING_CLASSES["critical"])
        assert panel.has_class(DATASET_DRIFT_CLASS)
        assert panel.query_one("#throughput-series", Sparkline).data == tuple(
            10.0 + (i % 5) for i in range(30))


async def test_a_remote_panel_before_its_second_scrape_says_its_rates_wait_for_it() -> None:
    async with console(fleet()).run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        text = rendered(pilot.app, panel_of(pilot.app, "churn @ prometheus"))
        assert "throughput           n/a" in text
        assert "error rate           n/a" in text
        assert "rates need a second scrape · drift: not exported" in text


async def test_a_remote_alert_that_stops_firing_leaves_the_panel() -> None:
    feed = FakeFeed(fleet())
    app = NeuralTuiApp(feed, source_label="monitoring_data", fleet=FLEET)
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        quiet = rich_figures(alerts_firing={("HighErrorRate", "critical"): 0})
        feed.publish(fleet_snapshot([], [target_view("host-1",
                                                      remote_model("churn", figures=quiet))]))
        await settle(pilot)
        panel = panel_of(app, "churn @ target host-1")
        assert panel.border_subtitle is None
        assert not panel.has_class(ALERTING_CLASSES["critical"])


# --- remote drill-downs ---------------------------------------------------------------------


async def open_remote(pilot: Pilot[Any], key: str) -> None:
    """Select churn on host-1 (the second panel) and press `key`."""
    await settle(pilot)
    await pilot.press("j", key)
    await pilot.pause()


async def test_a_remote_drift_screen_lists_exported_features_worst_first_and_why_no_histogram(
) -> None:
    async with console(fleet()).run_test(size=(120, 40)) as pilot:
        await open_remote(pilot, "enter")
        screen = pilot.app.screen
        assert isinstance(screen, DriftScreen)
        assert screen.uid == "churn @ target host-1"
        text = screen_text(pilot.app)
        assert "churn @ target host-1 · 1.0.0 · drift" in text
        assert "▲ 5 features · 2 drifted · as exported by target host-1" in text
        assert "a remote model has no raw records" in text
        assert "accuracy 91.00 % · precision 88.00 % · recall 80.00 % · F1 84.00 %" in text
        assert row_keys(screen.query_one("#remote-drift-table", KeyedTable)) == [
            "tenure_days · ks", "income · psi", "region · chi_square", "clicks · wasserstein",
            "age · ks"]
        assert "5000.00 %" in text  # tenure_days: alpha 0.05 / p-value 0.001
        assert "225.00 %" in text  # income: PSI 0.45 of a 0.2 threshold
        assert "10.00 %" in text  # age: alpha 0.05 / p-value 0.5, not KS 0.04 / 0.05 (80 %)
        assert not screen.query_one("#drift-body").display
        assert screen.query_one(FeatureDriftDetail).region.area == 0


def test_remote_features_sort_by_verdict_then_share_of_threshold_with_odd_values_last(
) -> None:
    figures = (
        FeatureDriftFigure("a", "ks", math.nan, drifted=True, threshold=0.1),
        FeatureDriftFigure("b", "ks", 0.2, drifted=True, threshold=0.05, p_value=0.025),
        FeatureDriftFigure("c", "chi_square", 50.0, drifted=True, threshold=None),
        FeatureDriftFigure("d", "psi", math.inf, drifted=True, threshold=0.2),
        FeatureDriftFigure("e", "psi", 0.1, drifted=True, threshold=0.0),
        FeatureDriftFigure("b", "ks", 0.01, drifted=False, threshold=-1.0),
    )
    assert [key for key, _ in remote_rows(figures)] == [
        "d · psi", "b · ks", "c · chi_square", "e · psi", "a · ks", "b · ks ·"]


def test_a_p_value_test_is_judged_by_its_p_value_against_alpha_not_by_its_statistic(
) -> None:
    """An exporter's threshold for KS, chi2 and z is alpha: a chi2 statistic of 6.06 over an
    alpha of 0.05 is not "12120 % of threshold"; its p-value of 0.2 is a quarter of the way."""
    chi2 = FeatureDriftFigure("country", "chi2", 6.06, drifted=False, threshold=0.05,
                              p_value=0.2)
    z_at_zero = FeatureDriftFigure("device", "z", 9.0, drifted=True, threshold=0.05, p_value=0.0)
    ks_without_p = FeatureDriftFigure("amount", "ks", 0.4, drifted=None, threshold=0.05)
    psi = FeatureDriftFigure("income", "psi", 0.3, drifted=False, threshold=0.2)
    assert threshold_share(chi2) == pytest.approx(0.25)
    assert threshold_share(z_at_zero) == math.inf
    assert threshold_share(ks_without_p) is None
    assert threshold_share(psi) == pytest.approx(1.5)
    assert [key for key, _ in remote_rows((chi2, psi))] == ["income · psi", "country · chi2"]


async def test_a_remote_quality_screen_shows_the_exported_score_and_rates_and_why_no_table(
) -> None:
    async with console(fleet()).run_test(size=(120, 40)) as pilot:
        await open_remote(pilot, "c")
        assert isinstance(pilot.app.screen, QualityScreen)
        text = screen_text(pilot.app)
        assert "score 0.950 · missing 1.20 % · outliers 0.30 %" in text
        assert "as exported by target host-1" in text
        assert "no per-feature table here" in text.lower()
        assert not pilot.app.screen.query_one("#quality-body").display


async def test_a_remote_slo_screen_lists_the_exported_slos_least_budget_first() -> None:
    async with console(fleet()).run_test(size=(160, 40)) as pilot:
        await open_remote(pilot, "s")
        assert isinstance(pilot.app.screen, SLOScreen)
        text = screen_text(pilot.app)
        assert "2 SLOs · 1 exhausted · as exported by target host-1" in text
        assert "firing: CRIT HighErrorRate · WARN DriftDetected" in text
        table = pilot.app.screen.query_one("#remote-slo-table", KeyedTable)
        assert row_keys(table) == ["latency-250ms", "availability"]
        assert "5m 0.40  1h 1.20  6h 0.90" in text
        assert "99.950 %" in text
        assert "OVERSPENT -25.0 %" in text


def test_burn_rates_read_shortest_window_first_and_odd_window_names_last() -> None:
    text = burn_rates_by_window({"3d": 0.1, "1h": 2.0, "soon": 1.0, "30m": math.nan, "5m": 0.5})
    assert text.plain == "5m 0.50  30m n/a  1h 2.00  3d 0.10  soon 1.00"


async def test_a_remote_model_with_nothing_exported_says_so_on_each_screen() -> None:
    bare = fleet_snapshot([], [target_view("host-1", remote_model("churn"))])
    async with console(bare, fleet=Fleet(targets=("host-1",))).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("d")
        await pilot.pause()
        assert "target host-1 exports no per-feature drift for this model" in screen_text(
            pilot.app)
        assert "performance: not exported" in screen_text(pilot.app)
        await pilot.press("c")
        await pilot.pause()
        assert "data quality: not exported" in screen_text(pilot.app)
        await pilot.press("s")
        await pilot.pause()
        assert "target host-1 exports no SLO figures for this model" in screen_text(pilot.app)
        assert "no alert firing (as exported)" in screen_text(pilot.app)


async def test_a_drill_down_of_a_remote_model_that_leaves_says_it_is_no_longer_reported() -> None:
    feed = FakeFeed(fleet())
    app = NeuralTuiApp(feed, source_label="monitoring_data", fleet=FLEET)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_remote(pilot, "enter")
        feed.publish(fleet_snapshot([model_snapshot("fraud-detector")], []))
        await pilot.pause()
        assert "churn @ target host-1 · no longer reported" in screen_text(app)


# --- untrusted text from endpoints ----------------------------------------------------------

HOSTILE = ["[bold red]x", "\x1b[31mred", "\x1b]0;pwned\x07", "\x9b2J", "[link=http://e]y"]


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_names_and_reasons_from_endpoints_are_shown_literally_everywhere(
    hostile: str,
) -> None:
    figures = RemoteFigures(
        feature_drift=(FeatureDriftFigure(hostile, hostile, 0.5, drifted=True, threshold=0.1),),
        slos=(SLOFigure(hostile, 0.9, 0.1, {hostile: 1.0}),),
        alerts_firing={(hostile, hostile): 1},
    )
    bad = fleet_snapshot(
        [],
        [target_view("host-1", remote_model(hostile, hostile, figures=figures,
                                            errors_total={hostile: 3.0})),
         target_view("host-2", up=False, detail=hostile)],
    )
    visible = hostile.replace("\x1b", "\u241b").replace("\x07", "\u2407")
    visible = visible.replace("\x9b", "<U+009B>")
    app = console(bad, fleet=Fleet(targets=("host-1", "host-2")))
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        seen = [screen_text(app)]
        for key in ("d", "c", "s"):
            await pilot.press(key)
            await pilot.pause()
            seen.append(screen_text(app))
        for text in seen:
            assert "\x1b" not in text
            assert "\x9b" not in text
            assert "\x07" not in text
        assert visible in seen[0]
        assert f"target host-2 DOWN: {visible}" in seen[0]
        assert f"{visible} @ target host-1" in seen[1]
        assert visible in seen[3]


# --- the console's wiring -------------------------------------------------------------------


def fleet_config(tmp_path: Path, storage: Path) -> Path:
    config = tmp_path / "neural-tui.toml"
    config.write_text(
        f'[storage]\npath = "{storage}"\n\n'
        '[[targets]]\nurl = "http://127.0.0.1:9/metrics"\nname = "host-1"\n\n'
        '[prometheus]\nurl = "http://127.0.0.1:9/"\n',
        encoding="utf-8",
    )
    return config


def test_the_console_reads_the_targets_and_prometheus_the_config_names(tmp_path: Path) -> None:
    storage = tmp_path / "data"
    storage.mkdir()
    settings = load_settings(fleet_config(tmp_path, storage))
    app = console_app(settings, storage, label=str(storage))
    feed = app._feed
    assert isinstance(feed, AlertingFeed)
    assert [source.label for source in feed.runtime.remote_sources] == ["targets", "prometheus"]
    assert [source.label for source in feed.runtime.sources] == [str(storage)]
    assert app.fleet == Fleet(local=True, targets=("host-1",),
                              prometheus_url="http://127.0.0.1:9/")


def test_without_storage_on_disk_a_fleet_console_reads_the_fleet_alone_and_writes_nothing(
    tmp_path: Path,
) -> None:
    storage = tmp_path / "absent"
    settings = load_settings(fleet_config(tmp_path, storage))
    app = console_app(settings, storage, label=str(storage))
    feed = app._feed
    assert isinstance(feed, Runtime)
    assert feed.sources == ()
    assert not app.alerting
    assert not app.fleet.local
    assert not storage.exists()


def test_without_storage_on_disk_and_no_fleet_the_console_still_waits_for_the_storage(
    tmp_path: Path,
) -> None:
    storage = tmp_path / "absent"
    config = tmp_path / "neural-tui.toml"
    config.write_text(f'[storage]\npath = "{storage}"\n', encoding="utf-8")
    app = console_app(load_settings(config), storage, label=str(storage))
    assert isinstance(app._feed, AlertingFeed)
    assert app.fleet.local


async def test_the_runtime_brings_a_remote_sources_models_into_the_console(
    tmp_path: Path,
) -> None:
    storage = tmp_path / "absent"
    settings = load_settings(fleet_config(tmp_path, storage))
    views = [target_view("host-1", remote_model("churn", figures=rich_figures()))]
    app = console_app(settings, storage, label=str(storage),
                      remotes=[FakeRemoteSource("targets", views)])
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            if panels(app):
                break
        assert [panel.uid for panel in panels(app)] == ["churn @ target host-1"]
        assert "target host-1 (up" in screen_text(app)


def test_an_age_reads_in_seconds_under_a_minute_then_in_units_and_never_negative() -> None:
    assert format_ago(FIXED_TIME, FIXED_TIME - 0.2) == "0.2 s ago"
    assert format_ago(FIXED_TIME, FIXED_TIME - 200) == "3m 20s ago"
    assert format_ago(FIXED_TIME, FIXED_TIME + 5) == "0.0 s ago"
    assert format_ago(FIXED_TIME, None) == ""
    assert format_ago(FIXED_TIME, math.nan) == ""
    assert format_ago(FIXED_TIME, -math.inf) == ""


async def test_a_local_group_appearing_after_the_fleet_goes_first() -> None:
    feed = FakeFeed(fleet_snapshot([], [target_view("host-1", remote_model("churn"))]))
    app = NeuralTuiApp(feed, source_label="data", fleet=Fleet(targets=("host-1",)))
    async with app.run_test(size=(120, 60)) as pilot:
        await settle(pilot)
        remote = panel_of(app, "churn @ target host-1")
        feed.publish(fleet_snapshot([model_snapshot("alpha")],
                                    [target_view("host-1", remote_model("churn"))]))
        await settle(pilot)
        assert headings(app) == ["local storage data", "target host-1 (up, 0.2 s ago)"]
        assert shown_uids(app) == ["alpha", "churn @ target host-1"]
        assert panel_of(app, "churn @ target host-1") is remote


async def test_figures_an_endpoint_sends_as_nan_or_infinity_are_shown_without_breaking() -> None:
    nan, inf = math.nan, math.inf
    figures = RemoteFigures(
        feature_drift=(FeatureDriftFigure("x", "ks", nan, drifted=None, threshold=nan),
                       FeatureDriftFigure("y", "psi", inf, drifted=True, threshold=0.2)),
        quality_score=nan, missing_rate=inf, outlier_rate=-inf, accuracy=nan, precision=inf,
        slos=(SLOFigure("a", compliance=nan, budget_remaining=inf, burn_rates={"5m": nan}),
              SLOFigure("b", compliance=-inf, budget_remaining=nan, burn_rates={"1h": inf})),
        alerts_firing={("r", "critical"): nan},
    )
    odd = remote_model("churn", figures=figures, latency_p95_ms=inf, error_rate=nan,
                       latency_p95_series=(1.0, nan, inf))
    bad = fleet_snapshot([], [target_view("host-1", odd)])
    async with console(bad, fleet=Fleet(targets=("host-1",))).run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        panel = panel_of(pilot.app, "churn @ target host-1")
        assert panel.border_subtitle is None
        assert "quality" not in rendered(pilot.app, panel)
        await pilot.press("d")
        await pilot.pause()
        table = pilot.app.screen.query_one("#remote-drift-table", KeyedTable)
        assert row_keys(table) == ["y · psi", "x · ks"]
        assert "inf %" in screen_text(pilot.app)
        await pilot.press("c")
        await pilot.pause()
        assert "score n/a · missing n/a · outliers n/a" in screen_text(pilot.app)
        await pilot.press("s")
        await pilot.pause()
        text = screen_text(pilot.app)
        assert "5m n/a" in text
        assert "1h n/a" in text
        assert "no alert firing (as exported)" in text
