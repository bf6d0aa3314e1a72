"""The old API's result shapes, `DriftMetrics` and the old `QualityReport`, filled from the
engines' reports: the old keys with figures the engines computed, and the full report beside.

What each old key now holds (the migration table in the README names the changes):

`DriftMetrics` (`ModelMonitor.check_drift`):

- `feature_drift`: per feature, how much probability mass moved: the two-sample KS statistic
  (as `scipy.stats.ks_2samp`) for a numeric feature, as the old module reported, and the total
  variation distance between category shares for a categorical one. A feature without values
  on either side is left out (the report says why).
- `prediction_drift`: the prediction column's effect size (KS statistic, or total variation
  between class shares), 0.0 when predictions were not given on both sides.
- `performance_drift`: how much worse the figures given to `check_drift` are than those given
  as the reference (the runtime's `performance` score: the drop of accuracy, else
  `1 - reference RMSE / current RMSE`, floored at 0), 0.0 without both.
- `data_distribution_drift`: the share of features that drifted by their own test (the value
  of `neural_drift_score{drift_type="distribution"}`; the old module averaged PSI).
- `concept_drift_score`: the Page-Hinkley statistic over its threshold, fed with the 0/1
  errors of the labelled predictions logged so far (1 or more means drift); 0.0 without labels.
- `statistical_distance`: the mean over features of each statistic the engine measured (`ks`,
  `psi`, `wasserstein`, `wasserstein_normed`, `jensen_shannon`).
- `is_drifting`: the runtime's one verdict (`ModelAnalysis.drifted`): a feature drifted, the
  predictions drifted, concept drift, or a performance drop of 0.1 or more; `drift_kinds` names
  which.
- `drift_severity`: `none` when nothing drifted; else by the largest magnitude among what
  drifted (each feature's and the predictions' effect size, the performance drop): `low` below
  0.1, `medium` from 0.1, `high` from 0.25, `critical` from 0.5. Concept drift, or a drifted
  share of features at the engine's dataset threshold (half), is at least `high`.
- `report`: the engine's `DriftReport.to_dict()` (None when this check set the reference).

`QualityReport` (`ModelMonitor.check_data_quality`), against the reference's profile:

- `missing_rate`: missing cells (None, NaN, +-inf, empty string) over the cells of the
  reference's features present in the batch; `missing_values` counts them per feature.
- `outlier_rate`: values beyond the reference's robust bounds (modified z-score above 3.5,
  from its median and MAD) over the numbers checked; `outliers` counts them per feature.
- `invalid_rate`: present values that are not numbers in a numeric feature, over the cells;
  `invalid_values` counts them per feature.
- `schema_violations`: features missing or unexpected, and values outside the reference's
  range widened by a tenth of its span on each side.
- `data_types`: each feature's kind (`numeric` or `categorical`).
- `value_ranges`: min, max, mean and standard deviation of each numeric feature's finite
  values in the batch.
- `quality_score`: the engine's composite score (1.0 clean).
- `warnings`: the old module's thresholds over the engine's rates, as lines (missing 10%,
  outliers 5%, invalid 1%, any schema violation), and a score below `MIN_QUALITY_SCORE` (the
  `[health] min_quality_score` default); `is_healthy` is true without any warning.
- `report`: the engine's `QualityReport.to_dict()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from neural_tui.engines.drift import DriftReport
    from neural_tui.engines.quality import QualityReport as EngineQualityReport
    from neural_tui.runtime.verdict import ModelAnalysis

SEVERITY_FROM = (("critical", 0.5), ("high", 0.25), ("medium", 0.1))
"""`drift_severity` from the largest magnitude that drifted; below the last bound, `low`."""
SEVERITIES = ("none", "low", "medium", "high", "critical")
MIN_QUALITY_SCORE = 0.7
"""A score below this is a warning (the `[health] min_quality_score` default)."""
MISSING_WARNING = 0.1
OUTLIER_WARNING = 0.05
INVALID_WARNING = 0.01
"""The old module's warning thresholds of missing, outlier and invalid rates."""
DISTANCES = ("ks_statistic", "psi", "wasserstein", "wasserstein_normed", "jensen_shannon")


@dataclass
class DriftMetrics:
    """The result of `ModelMonitor.check_drift`, with the old module's fields (see the module
    docstring for what each now holds)."""

    timestamp: float
    feature_drift: dict[str, float] = field(default_factory=dict)
    prediction_drift: float = 0.0
    performance_drift: float = 0.0
    data_distribution_drift: float = 0.0
    concept_drift_score: float = 0.0
    statistical_distance: dict[str, float] = field(default_factory=dict)
    is_drifting: bool = False
    drift_severity: str = "none"
    drift_kinds: tuple[str, ...] = ()
    report: dict[str, Any] | None = None

    @property
    def drift_score(self) -> float:
        """The largest of the four scores, the concept score capped at 1 (each in [0, 1]):
        what `get_metrics` reports and the default drift rule (above 0.2) reads."""
        return max(self.data_distribution_drift, self.prediction_drift,
                   self.performance_drift, min(self.concept_drift_score, 1.0))

    def to_dict(self) -> dict[str, Any]:
        """The old keys and `drift_kinds` and `report`; JSON-safe (non-finite numbers null)."""
        return json_safe({
            "timestamp": self.timestamp,
            "feature_drift": self.feature_drift,
            "prediction_drift": self.prediction_drift,
            "performance_drift": self.performance_drift,
            "data_distribution_drift": self.data_distribution_drift,
            "concept_drift_score": self.concept_drift_score,
            "statistical_distance": self.statistical_distance,
            "is_drifting": self.is_drifting,
            "drift_severity": self.drift_severity,
            "drift_kinds": list(self.drift_kinds),
            "report": self.report,
        })


@dataclass
class QualityReport:
    """The result of `ModelMonitor.check_data_quality`, with the old module's fields (see the
    module docstring); the engine's own report is `neural_tui.engines.quality.QualityReport`."""

    timestamp: float
    total_samples: int
    missing_values: dict[str, int] = field(default_factory=dict)
    missing_rate: float = 0.0
    outliers: dict[str, int] = field(default_factory=dict)
    outlier_rate: float = 0.0
    invalid_values: dict[str, int] = field(default_factory=dict)
    invalid_rate: float = 0.0
    schema_violations: list[str] = field(default_factory=list)
    data_types: dict[str, str] = field(default_factory=dict)
    value_ranges: dict[str, dict[str, float]] = field(default_factory=dict)
    quality_score: float = 1.0
    is_healthy: bool = True
    warnings: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The old keys and `report`; JSON-safe (non-finite numbers null)."""
        return json_safe({
            "timestamp": self.timestamp,
            "total_samples": self.total_samples,
            "missing_values": self.missing_values,
            "missing_rate": self.missing_rate,
            "outliers": self.outliers,
            "outlier_rate": self.outlier_rate,
            "invalid_values": self.invalid_values,
            "invalid_rate": self.invalid_rate,
            "schema_violations": self.schema_violations,
            "data_types": self.data_types,
            "value_ranges": self.value_ranges,
            "quality_score": self.quality_score,
            "is_healthy": self.is_healthy,
            "warnings": self.warnings,
            "report": self.report,
        })


def drift_metrics(
    report: DriftReport, analysis: ModelAnalysis, timestamp: float
) -> DriftMetrics:
    """The old shape of one drift check: `report` from the drift engine, `analysis` the
    runtime's verdict over it (with the concept state and the performance figures)."""
    scores = analysis.scores()
    feature_drift = {}
    for feature in report.features:
        score = feature.ks_statistic if feature.kind == "numeric" else feature.effect_size
        if score is not None and math.isfinite(score):
            feature_drift[feature.name] = score
    kinds = analysis.drift_kinds
    return DriftMetrics(
        timestamp=timestamp,
        feature_drift=feature_drift,
        prediction_drift=scores.get("prediction", 0.0),
        performance_drift=scores.get("performance", 0.0),
        data_distribution_drift=scores.get("distribution", 0.0),
        concept_drift_score=scores.get("concept", 0.0),
        statistical_distance=_mean_distances(report),
        is_drifting=bool(kinds),
        drift_severity=drift_severity(report, analysis),
        drift_kinds=kinds,
        report=report.to_dict(),
    )


def drift_severity(report: DriftReport, analysis: ModelAnalysis) -> str:
    """`none`, `low`, `medium`, `high` or `critical` (see the module docstring)."""
    kinds = analysis.drift_kinds
    if not kinds:
        return "none"
    magnitudes = [f.effect_size for f in report.features
                  if f.drifted and f.effect_size is not None]
    if "prediction" in kinds and report.prediction is not None:
        magnitudes.append(report.prediction.effect_size or 0.0)
    if "performance" in kinds:
        magnitudes.append(analysis.scores().get("performance", 0.0))
    if "concept" in kinds or report.dataset_drift:
        magnitudes.append(dict(SEVERITY_FROM)["high"])
    largest = max((m for m in magnitudes if math.isfinite(m)), default=0.0)
    return next((name for name, bound in SEVERITY_FROM if largest >= bound), "low")


def _mean_distances(report: DriftReport) -> dict[str, float]:
    means = {}
    for key in DISTANCES:
        values = [v for f in report.features
                  if (v := getattr(f, key)) is not None and math.isfinite(v)]
        if values:
            means[key.removesuffix("_statistic")] = sum(values) / len(values)
    return means


def quality_report(
    report: EngineQualityReport, columns: dict[str, np.ndarray], timestamp: float
) -> QualityReport:
    """The old shape of one quality check: `report` from the quality engine over `columns`."""
    schema = [f"missing feature {name!r}" for name in report.missing_features]
    schema += [f"unexpected feature {name!r}" for name in report.unexpected_features]
    for feature in report.features:
        if feature.out_of_range and feature.expected_range is not None:
            low, high = feature.expected_range
            schema.append(f"{feature.name}: {feature.out_of_range} value(s) outside the "
                          f"reference range [{low:.6g}, {high:.6g}]")
    result = QualityReport(
        timestamp=timestamp,
        total_samples=report.rows,
        missing_values={f.name: f.missing_count for f in report.features if f.missing_count},
        missing_rate=report.missing_values_rate,
        outliers={f.name: f.outliers for f in report.features if f.outliers},
        outlier_rate=report.outlier_rate,
        invalid_values={f.name: f.type_violations for f in report.features
                        if f.type_violations},
        invalid_rate=report.type_violation_rate,
        schema_violations=schema,
        data_types={f.name: f.kind for f in report.features},
        value_ranges={f.name: _value_range(columns[f.name]) for f in report.features
                      if f.kind == "numeric" and f.name in columns},
        quality_score=report.score,
        report=report.to_dict(),
    )
    result.value_ranges = {name: r for name, r in result.value_ranges.items() if r}
    result.warnings = _warnings(result)
    result.is_healthy = not result.warnings
    return result


def _value_range(column: np.ndarray) -> dict[str, float]:
    import numpy as np

    from neural_tui.engines.columns import to_numeric

    numbers = to_numeric(column)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return {}
    with np.errstate(over="ignore", invalid="ignore"):
        return {"min": float(numbers.min()), "max": float(numbers.max()),
                "mean": float(numbers.mean()), "std": float(numbers.std())}


def _warnings(result: QualityReport) -> list[str]:
    warnings = []
    if result.missing_rate >= MISSING_WARNING:
        warnings.append(f"High missing value rate: {result.missing_rate:.2%}")
    if result.outlier_rate >= OUTLIER_WARNING:
        warnings.append(f"High outlier rate: {result.outlier_rate:.2%}")
    if result.invalid_rate >= INVALID_WARNING:
        warnings.append(f"Invalid values detected: {result.invalid_rate:.2%}")
    if result.schema_violations:
        warnings.append(f"Schema violations: {len(result.schema_violations)}")
    if result.quality_score < MIN_QUALITY_SCORE:
        warnings.append(f"Quality score {result.quality_score:.3f} below {MIN_QUALITY_SCORE}")
    return warnings


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float as None and tuples as lists, for strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value
