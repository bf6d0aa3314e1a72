"""The figures a rule's condition reads, taken from one model of one snapshot.

Each name of `neural_tui.alerts.condition` maps to one field of the snapshot; a figure without
data (no latencies in the window, too few labels, no drift report yet, a feature or SLO the
model does not have) is None, which the condition treats as unknown. Performance figures count
only once the report is reliable (enough labels), so a handful of labels never pages.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from neural_tui.alerts.condition import split_member
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot

Figure = float | bool | None


class ModelFigures:
    """Lookup of one model's figures by condition name; features and SLOs found on demand."""

    __slots__ = ("_read", "model", "snapshot")

    def __init__(self, model: ModelSnapshot, snapshot: Snapshot) -> None:
        self.model = model
        self.snapshot = snapshot
        self._read: dict[str, Figure] = {}
        """Figures read so far: the rules of one evaluation share them."""

    def __call__(self, name: str) -> Figure:
        try:
            return self._read[name]
        except KeyError:
            value = self._read[name] = self._figure(name)
            return value

    def _figure(self, name: str) -> Figure:
        reader = _FIGURES.get(name)
        if reader is not None:
            return _finite(reader(self.model, self.snapshot))
        family, member = split_member(name)
        if member is None:
            return None
        return _finite(self._member(family, member))

    def _member(self, family: str, member: str) -> Figure:
        model = self.model
        if family in ("feature_drift", "feature_drifted"):
            feature = model.drift.feature(member) if model.drift is not None else None
            if feature is None:
                return None
            return feature.statistic if family == "feature_drift" else feature.drifted
        status = next((s for s in model.slos if s.spec.name == member), None)
        if status is None:
            return None
        if family == "slo_compliance":
            return status.compliance
        return status.error_budget_remaining


def _finite(value: Figure) -> Figure:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _performance(name: str) -> Callable[[ModelSnapshot, Snapshot], Figure]:
    def read(model: ModelSnapshot, _: Snapshot) -> Figure:
        report = model.performance
        if report is None or not report.reliable:
            return None
        value: float | None = getattr(report, name)
        return value

    return read


def _since_last_record(model: ModelSnapshot, snapshot: Snapshot) -> Figure:
    if model.last_record_at is None:
        return None
    return max(0.0, snapshot.generated_at - model.last_record_at)


def _sources_failing(_: ModelSnapshot, snapshot: Snapshot) -> Figure:
    return float(sum(1 for health in snapshot.source_health if health.status != "ok"))


def _ingest_errors(_: ModelSnapshot, snapshot: Snapshot) -> Figure:
    """Lines skipped in the last window, not since start: an alert on it resolves once the
    bad lines stop, and the history read at start never pages."""
    return float(snapshot.ingest.skipped_recently)


_FIGURES: dict[str, Callable[[ModelSnapshot, Snapshot], Figure]] = {
    "drift_score": lambda m, _: m.drift_scores.get("distribution"),
    "prediction_drift_score": lambda m, _: m.drift_scores.get("prediction"),
    "concept_drift_score": lambda m, _: m.drift_scores.get("concept"),
    "performance_drift_score": lambda m, _: m.drift_scores.get("performance"),
    "p50_latency_ms": lambda m, _: m.latency_p50_ms,
    "p95_latency_ms": lambda m, _: m.latency_p95_ms,
    "p99_latency_ms": lambda m, _: m.latency_p99_ms,
    "error_rate": lambda m, _: m.error_rate if m.throughput_rps > 0 else None,
    "throughput_rps": lambda m, _: m.throughput_rps,
    "quality_score": lambda m, _: m.quality.score if m.quality is not None else None,
    "missing_rate": lambda m, _: m.quality.missing_values_rate if m.quality is not None else None,
    "outlier_rate": lambda m, _: m.quality.outlier_rate if m.quality is not None else None,
    "accuracy": _performance("accuracy"),
    "precision": _performance("precision"),
    "recall": _performance("recall"),
    "f1": _performance("f1"),
    "mae": _performance("mae"),
    "rmse": _performance("rmse"),
    "predictions_total": lambda m, _: float(m.predictions_total),
    "errors_total": lambda m, _: float(m.errors_count),
    "seconds_since_last_record": _since_last_record,
    "ingest_errors": _ingest_errors,
    "sources_failing": _sources_failing,
    "drifted": lambda m, _: m.drifted,
}
"""How each plain name is read (`neural_tui.alerts.condition` lists and explains them)."""

PROCESS_FIGURES = frozenset({"ingest_errors", "sources_failing"})
"""Figures of the whole process, the same for every model: a rule that reads only these (and
names no model) is one alert, without `model` and `version` labels, not one per model."""

FIGURE_NAMES = frozenset(_FIGURES)
