"""What the console looks like, compared with checked-in SVG screenshots.

Regenerate after an intended change with `pytest tests/test_app_snapshots.py --snapshot-update`
and review the SVGs. Every snapshot carries a fixed time, so nothing depends on the clock.
"""

from __future__ import annotations

from typing import Any

from fake_feed import FakeFeed, model_snapshot, snapshot
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.runtime.snapshot import Snapshot


def three_models() -> Snapshot:
    """A healthy model, one failing (red panel), and one without latency data yet."""
    return snapshot(
        model_snapshot("fraud-detector"),
        model_snapshot(
            "churn",
            version="2.3.1",
            throughput_rps=8.4,
            error_rate=0.12,
            errors_total={"TimeoutError": 1_200, "ValueError": 40},
            error_rate_series=tuple((i % 10) / 50 for i in range(60)),
        ),
        model_snapshot(
            "recommender",
            version="0.9",
            predictions_total=0,
            labels_total=0,
            throughput_rps=0.0,
            latency_p95_ms=None,
            throughput_series=(),
            latency_p95_series=(),
            error_rate_series=(),
        ),
        skipped={"bad_json": 3, "missing_field": 1},
        last_messages=("predictions/2026-01-01.jsonl:12: invalid JSON",),
    )


def console(initial: Snapshot) -> NeuralTuiApp:
    return NeuralTuiApp(FakeFeed(initial), source_label="monitoring_data")


async def settle(pilot: Pilot[Any]) -> None:
    """Let the panels mount and the first one take focus before the screenshot."""
    await pilot.pause()
    await pilot.pause()


def test_overview_with_three_models_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(three_models()), terminal_size=(80, 24), run_before=settle)


def test_overview_with_three_models_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(three_models()), terminal_size=(120, 40), run_before=settle)


def test_overview_waiting_for_records(snap_compare: Any) -> None:
    assert snap_compare(console(Snapshot.empty(1_767_225_600.0)), run_before=settle)


def test_help_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(three_models()), press=["question_mark"], run_before=settle)
