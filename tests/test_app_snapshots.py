"""What the console looks like, compared with checked-in SVG screenshots.

Regenerate after an intended change with `pytest tests/test_app_snapshots.py --snapshot-update`
and review the SVGs. Every snapshot carries a fixed time, so nothing depends on the clock.
"""

from __future__ import annotations

from typing import Any

from factories import (
    categorical_drift,
    concept_state,
    drift_report,
    feature_drift,
    feature_quality,
    four_slos,
    model_snapshot,
    payment_method_quality,
    performance_report,
    quality_report,
    snapshot,
)
from fake_feed import FakeFeed
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
        line_problems={"bad_json": 3, "missing_field": 1},
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


def drill_down_models() -> Snapshot:
    """A model whose drift, quality and performance reports were built by hand."""
    features = (
        feature_drift(
            "income",
            drifted=True,
            statistic=0.31,
            p_value=1e-12,
            severity=9.1,
            ks_statistic=0.31,
            ks_p_value=1e-12,
            current_shares=(0.02, 0.03, 0.05, 0.07, 0.08, 0.1, 0.13, 0.15, 0.17, 0.2),
        ),
        categorical_drift("payment_method"),
        feature_drift("age"),
        feature_drift(
            "tenure_days", test="wasserstein", statistic=0.07, p_value=None, threshold=0.1,
            severity=0.7,
        ),
        feature_drift("session_length", severity=0.05),
    )
    quality = quality_report(
        feature_quality("income", null_count=10, nan_count=2, outliers=4, severity=0.01),
        feature_quality("age", type_violations=3, severity=0.004),
        payment_method_quality(),
        unexpected_features=("debug_flag",),
    )
    fraud = model_snapshot(
        "fraud-detector",
        drift=drift_report(
            *features,
            bonferroni=("income",),
            dataset_drift_share=0.4,
            prediction=feature_drift("prediction", statistic=0.04, p_value=0.3),
            concept=concept_state(),
        ),
        quality=quality,
        performance=performance_report(),
        feature_drift_history={"income": tuple(0.02 * i for i in range(16))},
    )
    return snapshot(fraud)


def test_drift_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(
        console(drill_down_models()), terminal_size=(80, 24), press=["d"], run_before=settle
    )


def test_drift_screen_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(
        console(drill_down_models()), terminal_size=(120, 40), press=["d"], run_before=settle
    )


def test_quality_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(
        console(drill_down_models()), terminal_size=(80, 24), press=["c"], run_before=settle
    )


def test_quality_screen_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(
        console(drill_down_models()), terminal_size=(120, 40), press=["c"], run_before=settle
    )


def slo_models() -> Snapshot:
    """fraud-detector with four SLOs (met, overspent and paging with an ongoing breach, without
    data, met), and churn with none."""
    return snapshot(
        model_snapshot("fraud-detector", slos=four_slos()),
        model_snapshot("churn", version="2.3.1"),
    )


def test_slo_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(
        console(slo_models()), terminal_size=(80, 24), press=["j", "s"], run_before=settle
    )


def test_slo_screen_at_160x48(snap_compare: Any) -> None:
    assert snap_compare(
        console(slo_models()), terminal_size=(160, 48), press=["j", "s"], run_before=settle
    )


def test_overview_with_a_burning_slo_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(console(slo_models()), terminal_size=(80, 24), run_before=settle)


def test_overview_with_a_burning_slo_at_120x40(snap_compare: Any) -> None:
    assert snap_compare(console(slo_models()), terminal_size=(120, 40), run_before=settle)
