"""What the engines said about a model and what it means: the drift scores and the verdict.

Figures exported as `neural_drift_score`, by `drift_type`:

- `distribution`: the share of drifted features (under the configured correction);
- `prediction`: the prediction column's effect size against the reference's: the share of
  probability mass that moved (KS statistic, or total variation between class shares), 0 to 1;
- `concept`: the Page-Hinkley statistic over its threshold, fed with the stream of labelled
  0/1 errors as labels join (classification only; 1 or more means drift);
- `performance`: how much worse the newest `window` labelled pairs after the reference period
  are than the reference period (the reference file's labelled records, else the first
  `reference_rows` labelled pairs of the stream): the drop of accuracy for classification,
  `1 - reference RMSE / current RMSE` for regression, floored at 0. The two never share a
  pair: until the reference period is complete and enough pairs followed it,
  `performance_waiting` says how many there are (`performance: labels 120/1000 for the
  reference`), and there is no score.

What "drift" means for a model, the one verdict that `drift --json`'s top-level `drift`,
`--fail-on-drift`, `neural_drift_detected`, the console's panel and `health`'s
`fail_on_drift` check all read: `ModelAnalysis.drifted`): a model drifted when any of these kinds
fired (`drift_kinds`):

- `distribution`: at least one feature drifted (its test, under the configured correction);
- `prediction`: the prediction column drifted;
- `concept`: the concept score is 1 or more (Page-Hinkley over its threshold);
- `performance`: the performance score is `PERFORMANCE_DRIFT_DROP` or more.

It did not drift when none fired and the drift report exists; there is no verdict (None)
while the drift report is still waiting for its reference and nothing fired.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from neural_tui.engines.concept import ConceptDriftState
from neural_tui.engines.drift import DriftReport
from neural_tui.engines.performance import PerformanceReport
from neural_tui.engines.quality import QualityReport

PERFORMANCE_DRIFT_DROP = 0.1
"""A performance score (drop of accuracy, or relative rise of RMSE) from which a model has
drifted."""


@dataclass(frozen=True, slots=True)
class ModelAnalysis:
    """What the engines said about one model at its latest run.

    `waiting` says why there is no drift or quality yet (no reference so far, or a bad
    reference file); `reference` names where the reference came from.
    """

    drift: DriftReport | None = None
    quality: QualityReport | None = None
    performance: PerformanceReport | None = None
    reference_performance: PerformanceReport | None = None
    concept: ConceptDriftState | None = None
    reference: str | None = None
    waiting: str | None = None
    feature_drift_history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    performance_compared: PerformanceReport | None = None
    """The labelled pairs after the reference period that the performance score compares."""
    performance_waiting: str | None = None
    """Why there is no performance score yet, with the labels so far."""
    features_dropped: int = 0
    """Feature values left out because their name came past `[runtime] max_features`, counted
    at each run that met them (the reference's once)."""

    def scores(self) -> dict[str, float]:
        """`neural_drift_score` values by `drift_type` (see the module docstring)."""
        scores = self.drift.scores() if self.drift is not None else {}
        if self.concept is not None:
            scores["concept"] = self.concept.normalised
        drop = performance_drop(self.reference_performance, self.performance_compared)
        if drop is not None:
            scores["performance"] = drop
        return {kind: score for kind, score in scores.items() if math.isfinite(score)}

    @property
    def drift_kinds(self) -> tuple[str, ...]:
        """The kinds of drift that fired (see the module docstring), in a fixed order."""
        report, scores = self.drift, self.scores()
        fired = {
            "distribution": report is not None and bool(report.drifted_features),
            "prediction": report is not None and report.prediction is not None
            and report.prediction.drifted,
            "concept": scores.get("concept", 0.0) >= 1.0,
            "performance": scores.get("performance", 0.0) >= PERFORMANCE_DRIFT_DROP,
        }
        return tuple(kind for kind, yes in fired.items() if yes)

    @property
    def drifted(self) -> bool | None:
        """Whether the model drifted; None while there is no verdict yet."""
        if self.drift_kinds:
            return True
        return False if self.drift is not None else None


def performance_drop(
    reference: PerformanceReport | None, current: PerformanceReport | None
) -> float | None:
    """How much worse `current` is than `reference`, in [0, 1]; None without enough labels."""
    if reference is None or current is None or not (reference.reliable and current.reliable):
        return None
    if reference.accuracy is not None and current.accuracy is not None:
        return max(0.0, reference.accuracy - current.accuracy)
    if reference.rmse is not None and current.rmse:
        return max(0.0, 1.0 - reference.rmse / current.rmse)
    return None
