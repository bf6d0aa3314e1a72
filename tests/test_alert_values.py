"""The figures a rule reads: each name from its field of the snapshot, None without data."""

from __future__ import annotations

import pytest

from neural_tui.alerts.values import ModelFigures
from neural_tui.engines.slo import SLOSpec, SLOStatus
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot, SourceHealth
from tests.factories import (
    FIXED_TIME,
    drift_report,
    feature_drift,
    idle_model_snapshot,
    model_snapshot,
    performance_report,
    quality_report,
)


def figures(model: ModelSnapshot, **snapshot_fields: object) -> ModelFigures:
    fields: dict = {"generated_at": FIXED_TIME + 30, "models": (model,),
                    "ingest": IngestStats(0, {})}
    fields.update(snapshot_fields)
    return ModelFigures(model, Snapshot(**fields))


def slo(name: str, compliance: float | None, budget: float | None) -> SLOStatus:
    return SLOStatus(spec=SLOSpec(name, "availability", 0.99, 86_400), model="fraud",
                     at=FIXED_TIME, good=0, total=0, sli=None, compliance=compliance,
                     error_budget_remaining=budget, burn_rates={},
                     time_to_exhaustion_seconds=None, breaches=(), alerts=())


def test_every_plain_figure_is_read_from_its_field():
    model = model_snapshot(
        "fraud", latency_p50_ms=11.0, latency_p95_ms=42.5, latency_p99_ms=80.0,
        error_rate=0.02, throughput_rps=20.0, predictions_total=12_000,
        errors_total={"timeout": 3, "oom": 2}, last_record_at=FIXED_TIME + 10,
        drift_scores={"distribution": 0.25, "prediction": 0.1, "concept": 1.5,
                      "performance": 0.12},
        drifted=True,
        quality=quality_report(score=0.81, missing_values_rate=0.04, outlier_rate=0.03),
        performance=performance_report(accuracy=0.77, precision=0.7, recall=0.6, f1=0.65))
    read = figures(model, ingest=IngestStats(10, {"not_json": 9, "long_value": 2},
                                             kept_reasons=frozenset({"long_value"}),
                                             skipped_recently=4),
                   source_health=(SourceHealth("a", "ok", ""), SourceHealth("b", "stuck", "x"),
                                  SourceHealth("c", "failing", "y")))
    assert {name: read(name) for name in (
        "drift_score", "prediction_drift_score", "concept_drift_score",
        "performance_drift_score", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms",
        "error_rate", "throughput_rps", "quality_score", "missing_rate", "outlier_rate",
        "accuracy", "precision", "recall", "f1", "predictions_total", "errors_total",
        "seconds_since_last_record", "ingest_errors", "sources_failing", "drifted",
    )} == {
        "drift_score": 0.25, "prediction_drift_score": 0.1, "concept_drift_score": 1.5,
        "performance_drift_score": 0.12, "p50_latency_ms": 11.0, "p95_latency_ms": 42.5,
        "p99_latency_ms": 80.0, "error_rate": 0.02, "throughput_rps": 20.0,
        "quality_score": 0.81, "missing_rate": 0.04, "outlier_rate": 0.03, "accuracy": 0.77,
        "precision": 0.7, "recall": 0.6, "f1": 0.65, "predictions_total": 12_000.0,
        "errors_total": 5.0, "seconds_since_last_record": 20.0, "ingest_errors": 4.0,
        "sources_failing": 2.0, "drifted": True,
    }


@pytest.mark.parametrize("name", [
    "drift_score", "p95_latency_ms", "error_rate", "quality_score", "accuracy", "rmse",
    "seconds_since_last_record", "drifted", "feature_drift.amount", "slo_compliance.avail",
])
def test_a_model_without_data_has_no_figure(name):
    assert figures(idle_model_snapshot("fraud", window_seconds=60.0))(name) is None


def test_performance_figures_wait_for_enough_labels():
    model = model_snapshot("fraud", performance=performance_report(n_labelled=10, min_labels=30))
    assert figures(model)("accuracy") is None


def test_a_non_finite_figure_is_no_data():
    model = model_snapshot("fraud", latency_p95_ms=float("inf"),
                           drift_scores={"distribution": float("nan")})
    read = figures(model)
    assert read("p95_latency_ms") is None
    assert read("drift_score") is None


def test_feature_and_slo_members_are_found_by_name():
    model = model_snapshot(
        "fraud",
        drift=drift_report(feature_drift("amount", statistic=0.4, drifted=True),
                           feature_drift("card type", statistic=0.05)),
        slos=(slo("availability", 0.995, 0.5), slo("latency", None, None)))
    read = figures(model)
    assert read("feature_drift.amount") == 0.4
    assert read("feature_drifted.amount") is True
    assert read('feature_drift["card type"]') == 0.05
    assert read('feature_drifted["card type"]') is False
    assert read("feature_drift.missing") is None
    assert read("slo_compliance.availability") == 0.995
    assert read("slo_budget_remaining.availability") == 0.5
    assert read("slo_compliance.latency") is None
