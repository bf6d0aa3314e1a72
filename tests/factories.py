"""Builders of snapshots and engine reports for tests: name the fields a test is about.

`model_snapshot` is a healthy model in steady traffic (what the console shows);
`idle_model_snapshot` is the same builder with every figure empty (what the exporter's tests
start from, setting each figure they check).
"""

from __future__ import annotations

from typing import Any

from neural_tui.decode import KEPT_LINE_REASONS
from neural_tui.engines.concept import ConceptDriftState
from neural_tui.engines.drift import CorrectionOutcome, DriftReport, FeatureDrift
from neural_tui.engines.performance import PerformanceReport
from neural_tui.engines.quality import FeatureQuality, QualityReport, QualityWeights
from neural_tui.engines.slo import Breach, SLOAlert, SLOSpec, SLOStatus
from neural_tui.runtime.snapshot import (
    LATENCY_BUCKETS_SECONDS,
    IngestStats,
    LatencyHistogram,
    ModelSnapshot,
    Snapshot,
)

FIXED_TIME = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: every built snapshot carries it, so rendered output is fixed."""


def model_snapshot(
    name: str = "fraud-detector", version: str = "1.0.0", **overrides: Any
) -> ModelSnapshot:
    """A healthy model with a minute of steady traffic; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": name,
        "version": version,
        "predictions_total": 12_000,
        "errors_total": {},
        "latency": LatencyHistogram(
            cumulative_counts=tuple(12_000 for _ in LATENCY_BUCKETS_SECONDS),
            count=12_000,
            sum_seconds=240.0,
        ),
        "labels_total": 3_000,
        "labels_joined": 2_900,
        "last_record_at": FIXED_TIME,
        "window_seconds": 300.0,
        "throughput_rps": 20.0,
        "error_rate": 0.0,
        "latency_p50_ms": 18.0,
        "latency_p95_ms": 42.5,
        "latency_p99_ms": 80.0,
        "throughput_series": tuple(18.0 + (i % 7) for i in range(60)),
        "error_rate_series": tuple(0.0 for _ in range(60)),
        "latency_p95_series": tuple(40.0 + (i % 5) for i in range(60)),
    }
    fields.update(overrides)
    return ModelSnapshot(**fields)


IDLE_FIELDS: dict[str, Any] = {
    "predictions_total": 0,
    "errors_total": {},
    "latency": LatencyHistogram((0,) * len(LATENCY_BUCKETS_SECONDS), 0, 0.0),
    "labels_total": 0,
    "labels_joined": 0,
    "last_record_at": None,
    "throughput_rps": 0.0,
    "error_rate": 0.0,
    "latency_p50_ms": None,
    "latency_p95_ms": None,
    "latency_p99_ms": None,
    "throughput_series": (),
    "error_rate_series": (),
    "latency_p95_series": (),
}
"""Every figure of a model that has recorded nothing."""


def idle_model_snapshot(name: str = "churn", version: str = "1.0", **overrides: Any
                        ) -> ModelSnapshot:
    """A model with every count zero, no latency and no series; `overrides` replace any field."""
    return model_snapshot(name, version, **{**IDLE_FIELDS, **overrides})


def snapshot(
    *models: ModelSnapshot,
    records_total: int | None = None,
    line_problems: dict[str, int] | None = None,
    last_messages: tuple[str, ...] = (),
    paused: bool = False,
) -> Snapshot:
    """A snapshot at `FIXED_TIME` of `models` (sorted by name, as the runtime publishes them)."""
    total = sum(m.predictions_total for m in models) if records_total is None else records_total
    return Snapshot(
        generated_at=FIXED_TIME,
        models=tuple(sorted(models, key=lambda m: m.name)),
        ingest=IngestStats(total, dict(line_problems or {}), last_messages, KEPT_LINE_REASONS),
        paused=paused,
        sources=("monitoring_data",),
    )


# --- engine reports, built by hand ----------------------------------------------------------

NUMERIC_BINS = (
    "(-inf, -1.28)", "[-1.28, -0.84)", "[-0.84, -0.52)", "[-0.52, -0.25)", "[-0.25, 0)",
    "[0, 0.25)", "[0.25, 0.52)", "[0.52, 0.84)", "[0.84, 1.28)", "[1.28, inf)",
)
"""PSI bins of a standard normal reference (its deciles)."""


def feature_drift(name: str, **overrides: Any) -> FeatureDrift:
    """A numeric feature tested by KS that did not drift; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": name,
        "kind": "numeric",
        "test": "ks",
        "statistic": 0.031,
        "p_value": 0.72,
        "threshold": 0.05,
        "drifted": False,
        "severity": 0.11,
        "n_reference": 1_000,
        "n_current": 1_000,
        "effect_size": 0.031,
        "p_value_bonferroni": 1.0,
        "p_value_bh": 0.9,
        "ks_statistic": 0.031,
        "ks_p_value": 0.72,
        "psi": 0.012,
        "wasserstein": 0.041,
        "wasserstein_normed": 0.04,
        "jensen_shannon": 0.05,
        "bins": NUMERIC_BINS,
        "reference_shares": (0.1,) * 10,
        "current_shares": (0.09, 0.11, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.11, 0.09),
    }
    fields.update(overrides)
    return FeatureDrift(**fields)


def categorical_drift(name: str, **overrides: Any) -> FeatureDrift:
    """A categorical feature tested by chi-square, with one category unseen in the reference."""
    fields: dict[str, Any] = {
        "kind": "categorical",
        "test": "chi2",
        "statistic": 48.2,
        "p_value": 3.4e-10,
        "drifted": True,
        "severity": 4.2,
        "effect_size": 0.21,
        "p_value_bonferroni": 1.4e-9,
        "p_value_bh": 1.4e-9,
        "ks_statistic": None,
        "ks_p_value": None,
        "wasserstein": None,
        "wasserstein_normed": None,
        "psi": 0.41,
        "jensen_shannon": 0.22,
        "chi2_statistic": 48.2,
        "chi2_p_value": 3.4e-10,
        "bins": ("card", "cash", "wire"),
        "reference_shares": (0.7, 0.3, 0.0001),
        "current_shares": (0.5, 0.3, 0.2),
    }
    fields.update(overrides)
    return feature_drift(name, **fields)


def drift_report(
    *features: FeatureDrift,
    bonferroni: tuple[str, ...] | None = None,
    dataset_drift_share: float = 0.5,
    **overrides: Any,
) -> DriftReport:
    """A report over `features` corrected with "none"; Bonferroni flags `bonferroni` (default:
    the same features), BH the same as uncorrected."""
    drifted = tuple(f.name for f in features if f.drifted)
    tested = max(len(features), 1)

    def outcome(method: Any, names: tuple[str, ...]) -> CorrectionOutcome:
        share = len(names) / tested
        return CorrectionOutcome(method, names, share, share >= dataset_drift_share)

    fields: dict[str, Any] = {
        "features": features,
        "n_reference": 1_000,
        "n_current": 1_000,
        "correction": "none",
        "corrections": {
            "none": outcome("none", drifted),
            "bonferroni": outcome("bonferroni", drifted if bonferroni is None else bonferroni),
            "bh": outcome("bh", drifted),
        },
    }
    fields.update(overrides)
    return DriftReport(**fields)


def concept_state(**overrides: Any) -> ConceptDriftState:
    fields: dict[str, Any] = {
        "samples": 900,
        "samples_since_drift": 900,
        "mean_error": 0.08,
        "statistic": 6.0,
        "normalised": 0.12,
        "drift_detected": False,
        "drifts_total": 0,
        "last_drift_at": None,
    }
    fields.update(overrides)
    return ConceptDriftState(**fields)


def performance_report(**overrides: Any) -> PerformanceReport:
    """Binary classification on 850 labelled rows."""
    fields: dict[str, Any] = {
        "task": "classification",
        "n_labelled": 850,
        "min_labels": 30,
        "accuracy": 0.912,
        "precision": 0.88,
        "recall": 0.801,
        "f1": 0.8386,
        "average": "binary",
    }
    fields.update(overrides)
    return PerformanceReport(**fields)


def feature_quality(name: str, **overrides: Any) -> FeatureQuality:
    """A clean numeric feature of 1,000 rows; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": name,
        "kind": "numeric",
        "rows": 1_000,
        "null_count": 0,
        "nan_count": 0,
        "posinf_count": 0,
        "neginf_count": 0,
        "empty_count": 0,
        "type_violations": 0,
        "checked": 1_000,
        "out_of_range": 0,
        "outliers": 0,
        "new_category_count": 0,
        "new_category_distinct": 0,
        "new_categories": (),
        "expected_range": (-4.2, 4.4),
        "outlier_bounds": (-3.5, 3.6),
        "severity": 0.0,
    }
    fields.update(overrides)
    return FeatureQuality(**fields)


def quality_report(*features: FeatureQuality, **overrides: Any) -> QualityReport:
    fields: dict[str, Any] = {
        "rows": 1_000,
        "features": features,
        "missing_features": (),
        "unexpected_features": (),
        "missing_values_rate": 0.012,
        "type_violation_rate": 0.001,
        "out_of_range_rate": 0.004,
        "outlier_rate": 0.003,
        "new_category_rate": 0.02,
        "schema_violation_rate": 0.0,
        "score": 0.973,
        "weights": QualityWeights(),
    }
    fields.update(overrides)
    return QualityReport(**fields)


# --- models with every engine's report ---------------------------------------------------


def four_features(**severities: float) -> tuple[FeatureDrift, ...]:
    """income and payment_method drifted; tenure_days and age did not (severities overridable)."""
    default = {"income": 9.1, "payment_method": 4.2, "tenure_days": 0.7, "age": 0.11}
    default.update(severities)
    return (
        feature_drift("age", severity=default["age"]),
        feature_drift("income", drifted=True, statistic=0.31, p_value=1e-12,
                      severity=default["income"]),
        categorical_drift("payment_method", severity=default["payment_method"]),
        feature_drift("tenure_days", test="wasserstein", statistic=0.07, p_value=None,
                      threshold=0.1, severity=default["tenure_days"]),
    )


def payment_method_quality() -> FeatureQuality:
    """A categorical feature with 20 values in two categories the reference never had."""
    return feature_quality(
        "payment_method",
        kind="categorical",
        new_category_count=20,
        new_category_distinct=2,
        new_categories=(("crypto", 15), ("voucher", 5)),
        expected_range=None,
        outlier_bounds=None,
        severity=0.02,
    )


def drifting_model(name: str = "fraud", **overrides: Any) -> ModelSnapshot:
    fields: dict[str, Any] = {
        "drift": drift_report(*four_features(), bonferroni=("income",)),
        "quality": quality_report(
            feature_quality("income", null_count=10, nan_count=2, outliers=4, severity=0.01),
            feature_quality("age", severity=0.0),
            payment_method_quality(),
        ),
        "performance": performance_report(),
        "feature_drift_history": {"income": (0.02, 0.1, 0.31), "age": (0.03, 0.02, 0.031)},
    }
    fields.update(overrides)
    return model_snapshot(name, **fields)


# --- SLO statuses, built by hand ----------------------------------------------------------

THIRTY_DAYS = 30 * 86_400
SEVEN_DAYS = 7 * 86_400
WORKBOOK_WINDOWS = ("1h", "5m", "6h", "30m", "3d")
"""The burn-rate windows of a 30-day SLO (the SRE workbook's tiers)."""
SEVEN_DAY_WINDOWS = ("14m", "1m", "1h24m", "7m", "16h48m")
"""The same tiers scaled to a 7-day SLO: each window keeps its share of 30 days."""


def slo_status(name: str = "availability", model: str = "fraud-detector",
               **overrides: Any) -> SLOStatus:
    """An availability SLO of 99% over 30 days, met: 10,000 requests, 50 failed.

    Hand-computed: compliance 0.995, burn rate 0.005 / 0.01 = 0.5, budget 1 - 0.5 = 0.5,
    and at a burn of 0.5 the half left lasts another 30 days. `spec` fields go in
    `spec_overrides`, every other field of the status in `overrides`.
    """
    spec_fields: dict[str, Any] = {"name": name, "type": "availability", "target": 0.99,
                                   "window_seconds": THIRTY_DAYS}
    spec_fields.update(overrides.pop("spec_overrides", {}))
    fields: dict[str, Any] = {
        "spec": SLOSpec(**spec_fields),
        "model": model,
        "at": FIXED_TIME,
        "good": 9_950,
        "total": 10_000,
        "sli": 0.995,
        "compliance": 0.995,
        "error_budget_remaining": 0.5,
        "burn_rates": dict(zip(WORKBOOK_WINDOWS, (0.4, 0.0, 0.6, 0.5, 0.5), strict=True)),
        "time_to_exhaustion_seconds": float(THIRTY_DAYS),
        "breaches": (),
        "alerts": (),
    }
    fields.update(overrides)
    return SLOStatus(**fields)


ONGOING_BREACH_START = FIXED_TIME - 2 * 3600 - 40 * 60
"""The overspent latency SLO has been breached for 2h 40m at `FIXED_TIME`."""


def overspent_latency_slo(name: str = "latency-250ms", model: str = "fraud-detector"
                          ) -> SLOStatus:
    """A latency SLO of 99.9% within 250 ms over 7 days, overspent and paging.

    20,000 requests, 70 slower than 250 ms: compliance 0.9965, burn rate 0.0035 / 0.001 = 3.5,
    budget 1 - 3.5 = -2.5 (overspent by 250%). Paging: 18.0 over 14m and 22.5 over 1m, both
    above 14.4. Breached for 2h 40m now, and once for 45 min the day before.
    """
    return slo_status(
        name,
        model,
        spec_overrides={"type": "latency", "target": 0.999, "window_seconds": SEVEN_DAYS,
                        "threshold_ms": 250.0},
        good=19_930,
        total=20_000,
        sli=0.9965,
        compliance=0.9965,
        error_budget_remaining=-2.5,
        burn_rates=dict(zip(SEVEN_DAY_WINDOWS, (18.0, 22.5, 7.25, 9.0, 3.5), strict=True)),
        time_to_exhaustion_seconds=0.0,
        breaches=(
            Breach(FIXED_TIME - 86_400, FIXED_TIME - 86_400 + 45 * 60, 45 * 60.0),
            Breach(ONGOING_BREACH_START, None, FIXED_TIME - ONGOING_BREACH_START),
        ),
        breach_count=2,
        breached_seconds=45 * 60.0 + FIXED_TIME - ONGOING_BREACH_START,
        longest_breach_seconds=FIXED_TIME - ONGOING_BREACH_START,
        alerts=(
            SLOAlert(
                "slo_burn_rate",
                "page",
                {"slo": name, "model": model, "severity": "page", "long_window": "14m",
                 "short_window": "1m"},
                "error budget burning 18x over 14m and 22.5x over 1m (limit 14.4x)",
                long_burn_rate=18.0,
                short_burn_rate=22.5,
            ),
        ),
    )


def no_data_throughput_slo(name: str = "throughput-5rps", model: str = "fraud-detector"
                           ) -> SLOStatus:
    """A throughput SLO (5 rps in 95% of minutes) that has seen no complete minute yet."""
    return slo_status(
        name,
        model,
        spec_overrides={"type": "throughput", "target": 0.95, "min_rps": 5.0},
        good=0,
        total=0,
        sli=None,
        compliance=None,
        error_budget_remaining=None,
        burn_rates=dict.fromkeys(WORKBOOK_WINDOWS),
        time_to_exhaustion_seconds=None,
        alerts=(
            SLOAlert("slo_no_data", "ticket", {"slo": name, "model": model, "severity": "ticket"},
                     "no SLO events in 30d although the model served requests"),
        ),
    )


def error_rate_slo(name: str = "errors-1pct", model: str = "fraud-detector") -> SLOStatus:
    """An error_rate SLO (at most 1% errors) at 0.2%: the same events as availability, stated
    as the error fraction. Burn 0.002 / 0.01 = 0.2, budget 0.8, met."""
    return slo_status(
        name,
        model,
        spec_overrides={"type": "error_rate", "target": 0.01},
        good=9_980,
        sli=0.002,
        compliance=0.998,
        error_budget_remaining=0.8,
        burn_rates=dict(zip(WORKBOOK_WINDOWS, (0.1, 0.0, 0.2, 0.2, 0.2), strict=True)),
        time_to_exhaustion_seconds=4.0 * THIRTY_DAYS,
    )


def four_slos(model: str = "fraud-detector") -> tuple[SLOStatus, ...]:
    """In config order: met, overspent and paging with an ongoing breach, no data, met."""
    return (slo_status(model=model), overspent_latency_slo(model=model),
            no_data_throughput_slo(model=model), error_rate_slo(model=model))
