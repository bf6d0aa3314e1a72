"""The latency screen and the palette's latency commands, driven through Pilot, and what the
screen looks like at 80x24 and 160x48 (SVG snapshots).

Histograms are built by hand from per-bucket counts; the figures on screen are the ones stated
in their docstrings, written as the console writes them.
"""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import pytest
from console_view import open_screen, palette_prompts, rendered, screen_text
from factories import model_snapshot, snapshot
from fake_feed import FakeFeed
from fake_fleet import fleet_snapshot, remote_model, target_view
from textual.pilot import Pilot
from textual.widgets import Label, Sparkline

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import HealthSection
from neural_tui.runtime.snapshot import LATENCY_BUCKETS_SECONDS, LatencyHistogram, Snapshot
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.latency import (
    OVER_LIMIT_CLASS,
    WAITING_CLASS,
    LatencyScreen,
    bucket_counts,
    format_bound,
    share_text,
)
from neural_tui.screens.overview import OverviewScreen

BUCKETS_MS = ("0.1", "0.25", "0.5", "1", "2.5", "5", "10", "25", "50", "75", "100", "250",
              "500", "750", "1000", "2500", "5000", "7500", "10000")


def histogram(per_bucket: dict[int, int]) -> LatencyHistogram:
    """The default bounds with `per_bucket[i]` latencies in bucket `i` (the last index,
    `len(bounds)`, above every bound)."""
    counts = [per_bucket.get(i, 0) for i in range(len(LATENCY_BUCKETS_SECONDS) + 1)]
    cumulative = list(accumulate(counts))
    return LatencyHistogram(tuple(cumulative[:-1]), cumulative[-1], 1.0)


STEADY = {5: 100, 6: 1_200, 7: 8_000, 8: 2_300, 9: 350, 10: 45, 12: 5}
"""12,000 latencies from ≤ 5 ms to ≤ 500 ms (none in ≤ 250 ms); 8,000 in ≤ 25 ms: 67 %; 100
in ≤ 5 ms: under 1 %."""


def fraud(**overrides: Any) -> Any:
    fields: dict[str, Any] = {
        "latency": histogram(STEADY),
        "latency_p50_series": tuple(15.0 + (i % 4) for i in range(60)),
        "latency_p99_series": tuple(70.0 + (i % 9) * 3 for i in range(60)),
    }
    fields.update(overrides)
    return model_snapshot("fraud-detector", **fields)


def console(initial: Snapshot, limit_ms: float | None = None) -> NeuralTuiApp:
    return NeuralTuiApp(FakeFeed(initial), source_label="monitoring_data",
                        health=HealthSection(max_latency_p95_ms=limit_ms))


async def open_latency(pilot: Pilot[Any]) -> LatencyScreen:
    return await open_screen(pilot, "l", LatencyScreen)


def row(app: Any, bucket: str) -> str:
    """The histogram's line of the bucket labelled `bucket` (`≤ 25 ms`)."""
    bars = rendered(app, app.screen.query_one("#latency-histogram"))
    return next(line.strip() for line in bars.splitlines()
                if line.strip().startswith(bucket + " "))


# --- reaching it -------------------------------------------------------------------------------


async def test_l_on_the_overview_opens_the_latency_of_the_model_in_focus() -> None:
    async with console(snapshot(fraud(), model_snapshot("churn"))).run_test() as pilot:
        await pilot.pause()
        await pilot.press("j")
        screen = await open_latency(pilot)

        assert screen.uid == "fraud-detector"
        assert "fraud-detector · 1.0.0 · latency" in screen_text(pilot.app)


async def test_l_on_a_drill_down_switches_to_latency_and_escape_goes_back_to_the_overview() -> None:
    async with console(snapshot(fraud())).run_test() as pilot:
        await open_screen(pilot, "d", DriftScreen)
        await open_latency(pilot)
        await open_screen(pilot, "escape", OverviewScreen)


async def test_l_no_longer_moves_to_the_next_panel() -> None:
    """`l` was a vim key for the next panel; it opens the latency view now, so the panel in
    focus is the one whose latency opens."""
    async with console(snapshot(fraud(), model_snapshot("churn"))).run_test() as pilot:
        screen = await open_latency(pilot)

        assert screen.uid == "churn"


# --- what it shows ---------------------------------------------------------------------------


async def test_the_percentiles_now_and_the_window_they_cover_are_written() -> None:
    async with console(snapshot(fraud())).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)

        assert "p50 18.0 ms · p95 42.5 ms · p99 80.0 ms over the last 5m" in screen_text(pilot.app)


async def test_each_bucket_is_a_bar_with_its_count_and_share_of_every_latency() -> None:
    async with console(snapshot(fraud())).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)

        assert row(pilot.app, "≤ 25 ms") == f"≤ 25 ms {'█' * 30} 8,000 (67 %)"
        assert row(pilot.app, "≤ 5 ms") == f"≤ 5 ms █{' ' * 29}   100 (<1 %)"
        assert row(pilot.app, "≤ 100 ms").endswith("45 (<1 %)")


async def test_empty_buckets_below_and_above_are_collapsed_but_not_those_between() -> None:
    async with console(snapshot(fraud())).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        text = screen_text(pilot.app)

        assert "≤ 2.5 ms" not in text and "≤ 750 ms" not in text and "> 10 s" not in text
        assert row(pilot.app, "≤ 250 ms").endswith(" 0 (0 %)")


async def test_each_percentile_over_time_is_a_sparkline_with_its_scale_written() -> None:
    model = fraud()
    async with console(snapshot(model)).run_test(size=(100, 30)) as pilot:
        screen = await open_latency(pilot)
        text = screen_text(pilot.app)

        assert screen.query_one("#latency-p50-series", Sparkline).data == model.latency_p50_series
        assert screen.query_one("#latency-p99-series", Sparkline).data == model.latency_p99_series
        assert "p50 over the last 1m · 15.0 ms to 18.0 ms" in text
        assert "p95 over the last 1m · 40.0 ms to 44.0 ms" in text
        assert "p99 over the last 1m · 70.0 ms to 94.0 ms" in text


async def test_over_a_longer_time_range_the_series_span_and_step_are_those_of_the_range() -> None:
    """`t` to 1h: 120 points of 30 s each span the hour, not 120 seconds."""
    series = tuple(15.0 + (i % 4) for i in range(120))
    model = fraud(window_seconds=3600.0, series_step_seconds=30.0, latency_p50_series=series,
                  latency_p95_series=series, latency_p99_series=series,
                  throughput_series=(20.0,) * 120, error_rate_series=(0.0,) * 120)
    async with console(snapshot(model)).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        text = " ".join(screen_text(pilot.app).split())
        assert "p50 over the last 1h · 15.0 ms to 18.0 ms" in text
        assert "One point per 30s; 0 where a step had no latency." in text


async def test_the_p95_limit_marks_its_bucket_and_the_p95_series_that_crosses_it() -> None:
    """The limit 43 ms falls in the bucket ≤ 50 ms; the p95 series reaches 44 ms."""
    async with console(snapshot(fraud()), limit_ms=43.0).run_test(size=(100, 30)) as pilot:
        screen = await open_latency(pilot)

        assert row(pilot.app, "≤ 50 ms").endswith("2,300 (19 %) ◀ p95 limit 43.0 ms")
        assert "limit 43.0 ms" in str(screen.query_one("#latency-p95-label", Label).content)
        assert screen.query_one("#latency-p95-label").has_class(OVER_LIMIT_CLASS)


async def test_a_p95_series_under_the_limit_is_not_marked_and_no_limit_marks_nothing() -> None:
    async with console(snapshot(fraud()), limit_ms=250.0).run_test(size=(100, 30)) as pilot:
        screen = await open_latency(pilot)
        assert not screen.query_one("#latency-p95-label").has_class(OVER_LIMIT_CLASS)
        assert row(pilot.app, "≤ 250 ms").endswith("◀ p95 limit 250.0 ms")
    async with console(snapshot(fraud())).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        assert "◀" not in screen_text(pilot.app)


async def test_the_screen_follows_each_new_snapshot() -> None:
    feed = FakeFeed(snapshot(fraud()))
    app = NeuralTuiApp(feed)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        feed.publish(snapshot(fraud(latency_p50_ms=21.5)))
        await pilot.pause()

        assert "p50 21.5 ms" in screen_text(app)


# --- the worst input -------------------------------------------------------------------------


async def test_without_any_latency_the_screen_says_it_is_waiting_and_why() -> None:
    idle = fraud(latency=histogram({}), latency_p50_ms=None, latency_p95_ms=None,
                 latency_p99_ms=None, latency_p50_series=(), latency_p95_series=(),
                 latency_p99_series=())
    async with console(snapshot(idle)).run_test() as pilot:
        screen = await open_latency(pilot)

        assert screen.has_class(WAITING_CLASS)
        assert "No latency yet: the latency view fills once records carry a latency_ms" in (
            screen_text(pilot.app))
        assert screen.query_one("#latency-body").styles.display == "none"


async def test_latencies_all_above_every_bound_are_one_bar_of_the_inf_bucket() -> None:
    above = fraud(latency=histogram({len(LATENCY_BUCKETS_SECONDS): 7}))
    async with console(snapshot(above)).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)

        assert row(pilot.app, "> 10 s") == f"> 10 s {'█' * 30} 7 (100 %)"
        assert "≤ 10 s" not in screen_text(pilot.app)


async def test_one_record_is_one_bar_at_its_bucket() -> None:
    one = fraud(latency=histogram({7: 1}), latency_p50_ms=20.0, latency_p95_ms=20.0,
                latency_p99_ms=20.0, latency_p50_series=(0.0, 20.0),
                latency_p95_series=(0.0, 20.0), latency_p99_series=(0.0, 20.0))
    async with console(snapshot(one)).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        text = screen_text(pilot.app)

        assert row(pilot.app, "≤ 25 ms") == f"≤ 25 ms {'█' * 30} 1 (100 %)"
        assert "≤ 10 ms" not in text and "≤ 50 ms" not in text
        assert "p95 over the last 2s · 20.0 ms to 20.0 ms" in text


async def test_nan_and_infinite_series_points_are_drawn_as_zero_not_raised() -> None:
    odd = fraud(latency_p99_series=(float("nan"), float("inf"), 5.0))
    async with console(snapshot(odd)).run_test(size=(100, 30)) as pilot:
        screen = await open_latency(pilot)

        assert screen.query_one("#latency-p99-series", Sparkline).data == (0.0, 0.0, 5.0)
        assert "p99 over the last 3s · 5.0 ms to 5.0 ms" in screen_text(pilot.app)


async def test_a_model_that_leaves_the_snapshot_is_said_to_be_gone() -> None:
    feed = FakeFeed(snapshot(fraud()))
    app = NeuralTuiApp(feed)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)
        feed.publish(snapshot(model_snapshot("churn")))
        await pilot.pause()

        assert "fraud-detector · no longer reported" in screen_text(app)
        assert "This model is not in the latest snapshot." in screen_text(app)


async def test_a_hostile_model_name_is_shown_literally_in_the_title() -> None:
    hostile = "[bold]x[/]\x1b[31m"
    model = model_snapshot(hostile, latency=histogram(STEADY))
    async with console(snapshot(model)).run_test(size=(100, 30)) as pilot:
        await open_latency(pilot)

        assert "[bold]x[/]\u241b[31m · 1.0.0 · latency" in screen_text(pilot.app)


def test_bucket_counts_from_a_non_monotonic_exporter_are_never_negative() -> None:
    odd = LatencyHistogram((5, 3, 9), 8, 1.0, (0.01, 0.1, 1.0))

    assert bucket_counts(odd) == [5, 0, 6, 0]


@pytest.mark.parametrize(("seconds", "written"), [
    (0.0001, "0.1 ms"), (0.00025, "0.25 ms"), (0.005, "5 ms"), (0.25, "250 ms"), (1.0, "1 s"),
    (2.5, "2.5 s"), (10.0, "10 s"),
])
def test_a_bound_is_written_as_the_config_writes_it(seconds: float, written: str) -> None:
    assert format_bound(seconds) == written


def test_a_share_is_whole_percent_and_a_tiny_one_is_not_rounded_to_zero() -> None:
    shares = (share_text(1, 1_000), share_text(9, 1_000), share_text(15, 1_000),
              share_text(0, 10), share_text(0, 0))

    assert shares == ("<1 %", "<1 %", "2 %", "0 %", "0 %")


# --- a remote model --------------------------------------------------------------------------


def remote_snapshot() -> Snapshot:
    """fraud-detector as target host-1 exports it: 4,000 ≤ 10 ms, 4,500 ≤ 50 ms, 500 ≤ 100 ms,
    a p95 series of 30 polls, no p50 or p99 series."""
    return fleet_snapshot([], [target_view("host-1", remote_model())])


async def test_a_remote_model_shows_its_exported_histogram_and_p95_series_as_exported() -> None:
    async with console(remote_snapshot()).run_test(size=(120, 40)) as pilot:
        screen = await open_latency(pilot)
        text = screen_text(pilot.app)

        assert "p50 11.0 ms · p95 48.0 ms · p99 90.0 ms over the last 5m" in text
        assert "Histogram (9,000 observed), as exported by target host-1" in text
        assert row(pilot.app, "≤ 10 ms").endswith("4,000 (44 %)")
        assert row(pilot.app, "≤ 100 ms").endswith("500 (6 %)")
        assert "p95 as exported, 30 polls · 45.0 ms to 48.0 ms" in text
        assert "p50 over time: not exported (only the p95 is)" in text
        assert not screen.query_one("#latency-p50-series", Sparkline).display


async def test_a_remote_model_without_a_histogram_or_percentiles_is_waiting() -> None:
    bare = remote_model(latency=None, latency_p50_ms=None, latency_p95_ms=None,
                        latency_p99_ms=None, latency_p95_series=())
    async with console(fleet_snapshot([], [target_view("host-1", bare)])).run_test() as pilot:
        await open_latency(pilot)

        assert "No latency yet: its exporter publishes no latency histogram or percentile." in (
            screen_text(pilot.app))


# --- the command palette ---------------------------------------------------------------------




async def test_a_palette_command_opens_the_latency_of_the_model_it_names() -> None:
    async with console(snapshot(fraud(), model_snapshot("churn"))).run_test() as pilot:
        await pilot.pause()
        assert await palette_prompts(pilot, "latency fraud") == ["Latency: fraud-detector"]
        await pilot.press("enter")
        await pilot.pause()

        screen = pilot.app.screen
        assert isinstance(screen, LatencyScreen)
        assert screen.uid == "fraud-detector"


async def test_the_palette_shows_a_hostile_model_name_literally_in_a_latency_command() -> None:
    hostile = "[bold]x[/]\x1b[31m"
    feed = FakeFeed(snapshot(model_snapshot(hostile)))
    async with NeuralTuiApp(feed).run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert await palette_prompts(pilot, "Latency") == ["Latency: [bold]x[/]\u241b[31m"]


# --- how it looks ----------------------------------------------------------------------------


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.pause()


def test_latency_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(snapshot(fraud()), limit_ms=43.0), terminal_size=(80, 24),
                        press=["l"], run_before=settle)


def test_latency_screen_at_160x48(snap_compare: Any) -> None:
    assert snap_compare(console(snapshot(fraud()), limit_ms=43.0), terminal_size=(160, 48),
                        press=["l"], run_before=settle)


def test_remote_latency_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(remote_snapshot()), terminal_size=(80, 24), press=["l"],
                        run_before=settle)


def test_remote_latency_screen_at_160x48(snap_compare: Any) -> None:
    assert snap_compare(console(remote_snapshot()), terminal_size=(160, 48), press=["l"],
                        run_before=settle)
