"""Prometheus metrics read from the latest Snapshot.

A custom Collector turns whatever snapshot is current at scrape time into metric families, so
the exporter holds no state of its own: no Gauge per series to keep in step, no stale label
sets left behind when a model disappears. Each family is built by one small function in
`FAMILY_BUILDERS`; a new metric (drift, quality, SLO) is one more function in that tuple.

Every exported number is finite: a sample that is NaN or infinite (however it got into a
snapshot) is left out of the scrape rather than poisoning a series for good.

Only the local models are exported (`Snapshot.local_models`): a model read from a remote
endpoint or Prometheus is already in Prometheus, and exporting it again would loop it back in
under a second name. The remote endpoints themselves are exported as `neural_target_up`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot

if TYPE_CHECKING:
    from neural_tui.engines.drift import DriftReport, FeatureDrift
    from neural_tui.engines.performance import PerformanceReport
    from neural_tui.engines.quality import QualityReport
    from neural_tui.engines.slo import SLOStatus

MODEL_LABELS: tuple[str, str] = ("model", "version")

ACTIVE_MODEL_SECONDS = 300.0
"""A model counts in `neural_active_models` if its last record is this recent."""

FamilyBuilder = Callable[[Snapshot], Metric]


def _model_label_values(model: ModelSnapshot) -> list[str]:
    return [model.name, model.version]


def predictions_total(snapshot: Snapshot) -> Metric:
    family = CounterMetricFamily(
        "neural_predictions_total",
        "Predictions recorded since the start of storage.",
        labels=MODEL_LABELS,
    )
    for model in snapshot.local_models:
        family.add_metric(_model_label_values(model), model.predictions_total)
    return family


def prediction_latency_seconds(snapshot: Snapshot) -> Metric:
    """The bounds are prometheus-client's defaults plus every latency SLO's threshold
    (`LatencyHistogram.bounds_seconds`), written as prometheus-client writes `le`."""
    family = HistogramMetricFamily(
        "neural_prediction_latency_seconds",
        "Prediction latency since the start of storage (records without a latency excluded).",
        labels=MODEL_LABELS,
    )
    for model in snapshot.local_models:
        histogram = model.latency
        bounds = [floatToGoString(bound) for bound in histogram.bounds_seconds]
        buckets = [
            *zip(bounds, histogram.cumulative_counts, strict=True),
            ("+Inf", histogram.count),
        ]
        family.add_metric(_model_label_values(model), buckets, histogram.sum_seconds)
    return family


def labels_joined_total(snapshot: Snapshot) -> Metric:
    """With `neural_labels_correct_total`, what an accuracy SLO is computed from in Prometheus:
    counters, so a rate over any window is exact (the accuracy gauge covers only the newest
    labelled rows)."""
    family = CounterMetricFamily(
        "neural_labels_joined_total",
        "Predictions joined with their label since the start of storage.",
        labels=MODEL_LABELS,
    )
    for model in snapshot.local_models:
        family.add_metric(_model_label_values(model), model.labels_joined)
    return family


def labels_correct_total(snapshot: Snapshot) -> Metric:
    family = CounterMetricFamily(
        "neural_labels_correct_total",
        "Predictions joined with their label that matched it, since the start of storage.",
        labels=MODEL_LABELS,
    )
    for model in snapshot.local_models:
        family.add_metric(_model_label_values(model), model.labels_correct)
    return family


def errors_total(snapshot: Snapshot) -> Metric:
    family = CounterMetricFamily(
        "neural_errors_total",
        "Failed requests since the start of storage, by error type.",
        labels=(*MODEL_LABELS, "error_type"),
    )
    for model in snapshot.local_models:
        for error_type, count in sorted(model.errors_total.items()):
            family.add_metric([*_model_label_values(model), error_type], count)
    return family


def active_models(snapshot: Snapshot) -> Metric:
    """Models with a record in the last `ACTIVE_MODEL_SECONDS` before the snapshot.

    Counting recent records rather than known models lets an alert on this gauge catch a model
    server that stopped writing, which a count of every model ever seen would hide.
    """
    since = snapshot.generated_at - ACTIVE_MODEL_SECONDS
    active = sum(
        1
        for model in snapshot.local_models
        if model.last_record_at is not None and model.last_record_at >= since
    )
    return GaugeMetricFamily(
        "neural_active_models",
        f"Models with a record in the last {ACTIVE_MODEL_SECONDS:g} seconds.",
        value=active,
    )


def ingest_records_total(snapshot: Snapshot) -> Metric:
    return CounterMetricFamily(
        "neural_ingest_records_total",
        "Valid records read by the sources.",
        value=snapshot.ingest.records_total,
    )


def ingest_errors_total(snapshot: Snapshot) -> Metric:
    family = CounterMetricFamily(
        "neural_ingest_errors_total",
        "Input lines skipped by the sources, by reason; invalid_latency and long_value count "
        "lines kept with a value dropped or replaced.",
        labels=("reason",),
    )
    for reason, count in sorted(snapshot.ingest.line_problems.items()):
        family.add_metric([reason], count)
    return family


def drift_score(snapshot: Snapshot) -> Metric:
    """One series per kind of drift the engines could measure for a model.

    The meaning of each `drift_type` is written down in `neural_tui.runtime.verdict`.
    """
    family = GaugeMetricFamily(
        "neural_drift_score",
        "Drift by type: distribution (share of drifted features), prediction (deciding "
        "statistic), concept (Page-Hinkley statistic / threshold), performance (drop of "
        "accuracy, or relative rise of RMSE, against the reference period).",
        labels=(*MODEL_LABELS, "drift_type"),
    )
    for model in snapshot.local_models:
        for drift_type, score in sorted(model.drift_scores.items()):
            family.add_metric([*_model_label_values(model), drift_type], score)
    return family


def drift_detected(snapshot: Snapshot) -> Metric:
    """The model's one drift verdict, 1 or 0; no series while there is none yet."""
    family = GaugeMetricFamily(
        "neural_drift_detected",
        "1 if the model drifted (a feature, the predictions, concept, or performance), else 0.",
        labels=MODEL_LABELS,
    )
    for model in snapshot.local_models:
        if model.drifted is not None:
            family.add_metric(_model_label_values(model), float(model.drifted))
    return family


FEATURE_LABELS: tuple[str, ...] = (*MODEL_LABELS, "feature", "test")


def _tested_features(snapshot: Snapshot) -> Iterator[tuple[list[str], FeatureDrift, DriftReport]]:
    """Each local feature a test measured (a finite statistic), with its label values and its
    report: the four per-feature families share these series, so a rule can join them."""
    for model in snapshot.local_models:
        if model.drift is None:
            continue
        for feature in model.drift.features:
            if feature.statistic is not None and math.isfinite(feature.statistic):
                label_values = [*_model_label_values(model), feature.name, feature.test]
                yield label_values, feature, model.drift


def _feature_family(
    name: str, documentation: str, value: Callable[[FeatureDrift, DriftReport], float | None]
) -> FamilyBuilder:
    """A gauge of one figure of each tested feature, with a series only where it exists."""

    def build(snapshot: Snapshot) -> Metric:
        family = GaugeMetricFamily(name, documentation, labels=FEATURE_LABELS)
        for label_values, feature, report in _tested_features(snapshot):
            figure = value(feature, report)
            if figure is not None:
                family.add_metric(label_values, figure)
        return family

    return build


def _deciding_p_value(feature: FeatureDrift, report: DriftReport) -> float | None:
    """The p-value the verdict compares with alpha, after the report's correction; None for
    a distance test, which has none."""
    if feature.p_value is None:
        return None
    return {
        "none": feature.p_value,
        "bonferroni": feature.p_value_bonferroni,
        "bh": feature.p_value_bh,
    }[report.correction]


feature_drift = _feature_family(
    "neural_feature_drift",
    "Statistic of the test that decides each feature's drift, against the reference.",
    lambda feature, _report: feature.statistic,
)
feature_drifted = _feature_family(
    "neural_feature_drifted",
    "1 if the drift engine judged the feature drifted (its deciding test, under the "
    "configured correction, or new categories), else 0.",
    lambda feature, _report: float(feature.drifted),
)
feature_drift_threshold = _feature_family(
    "neural_feature_drift_threshold",
    "Threshold of each feature's deciding test. For psi, wasserstein and jensen_shannon it is "
    "on neural_feature_drift's scale: drifted at statistic >= threshold. For ks, chi2 and z it "
    "is alpha, compared with neural_feature_drift_p_value, not with the statistic: drifted at "
    "p < alpha with an effect size of at least [drift] min_effect_size. "
    "neural_feature_drifted is the verdict.",
    lambda feature, _report: feature.threshold,
)
feature_drift_p_value = _feature_family(
    "neural_feature_drift_p_value",
    "P-value of each feature's deciding test where it decides by p-value (ks, chi2, z), after "
    "the configured [drift] correction: what alpha (neural_feature_drift_threshold) is "
    "compared with.",
    _deciding_p_value,
)


def _quality_family(
    name: str, documentation: str, value: Callable[[QualityReport], float]
) -> FamilyBuilder:
    """A gauge of one figure of the quality report, for models that have one."""

    def build(snapshot: Snapshot) -> Metric:
        family = GaugeMetricFamily(name, documentation, labels=MODEL_LABELS)
        for model in snapshot.local_models:
            if model.quality is not None:
                family.add_metric(_model_label_values(model), value(model.quality))
        return family

    return build


def _performance_family(
    name: str, documentation: str, value: Callable[[PerformanceReport], float | None]
) -> FamilyBuilder:
    """A gauge of one performance figure, with a series only where it could be computed."""

    def build(snapshot: Snapshot) -> Metric:
        family = GaugeMetricFamily(name, documentation, labels=MODEL_LABELS)
        for model in snapshot.local_models:
            figure = value(model.performance) if model.performance is not None else None
            if figure is not None:
                family.add_metric(_model_label_values(model), figure)
        return family

    return build


data_quality_score = _quality_family(
    "neural_data_quality_score",
    "Composite data-quality score of the current window, 1 is clean.",
    lambda quality: quality.score,
)
missing_values_rate = _quality_family(
    "neural_missing_values_rate",
    "Share of missing feature values (null, NaN, infinities, empty strings) in the window.",
    lambda quality: quality.missing_values_rate,
)
outlier_rate = _quality_family(
    "neural_outlier_rate",
    "Share of numeric values outside the reference's robust outlier bounds in the window.",
    lambda quality: quality.outlier_rate,
)
model_accuracy = _performance_family(
    "neural_model_accuracy", "Accuracy over the newest labelled predictions.",
    lambda report: report.accuracy,
)
model_precision = _performance_family(
    "neural_model_precision",
    "Precision (binary, or macro over classes) over the newest labelled predictions.",
    lambda report: report.precision,
)
model_recall = _performance_family(
    "neural_model_recall",
    "Recall (binary, or macro over classes) over the newest labelled predictions.",
    lambda report: report.recall,
)
model_f1 = _performance_family(
    "neural_model_f1",
    "F1 (binary, or macro over classes) over the newest labelled predictions.",
    lambda report: report.f1,
)
model_labelled_rows = _performance_family(
    "neural_model_labelled_rows",
    "Labelled predictions behind the performance figures: do not trust a metric from five.",
    lambda report: report.n_labelled,
)


SLO_LABELS: tuple[str, str, str] = ("slo", *MODEL_LABELS)


def _slo_statuses(snapshot: Snapshot) -> Iterator[tuple[list[str], SLOStatus]]:
    """Each SLO status with its label values: the runtime judges each version of a model on
    its own traffic, so `version` keeps two versions' figures apart."""
    for model in snapshot.local_models:
        for status in model.slos:
            yield [status.spec.name, *_model_label_values(model)], status


def _slo_family(
    name: str, documentation: str, value: Callable[[SLOStatus], float | None]
) -> FamilyBuilder:
    """A gauge of one SLO figure, with a series only where it could be computed."""

    def build(snapshot: Snapshot) -> Metric:
        family = GaugeMetricFamily(name, documentation, labels=SLO_LABELS)
        for label_values, status in _slo_statuses(snapshot):
            figure = value(status)
            if figure is not None:
                family.add_metric(label_values, figure)
        return family

    return build


slo_compliance = _slo_family(
    "neural_slo_compliance",
    "Good events / all events over the SLO's window (for throughput: good minutes).",
    lambda status: status.compliance,
)
slo_error_budget_remaining = _slo_family(
    "neural_slo_error_budget_remaining",
    "Share of the SLO window's error budget left: 1 - (bad/total) / (1 - objective); "
    "negative once overspent.",
    lambda status: status.error_budget_remaining,
)


def slo_burn_rate(snapshot: Snapshot) -> Metric:
    family = GaugeMetricFamily(
        "neural_slo_burn_rate",
        "How fast the SLO spends its error budget over a window: (bad/total) / "
        "(1 - objective); 1 spends it exactly over the SLO window.",
        labels=(*SLO_LABELS, "window"),
    )
    for label_values, status in _slo_statuses(snapshot):
        for window, rate in status.burn_rates.items():
            if rate is not None:
                family.add_metric([*label_values, window], rate)
    return family


def target_up(snapshot: Snapshot) -> Metric:
    """Each remote endpoint this process polls; a name listed twice is up only if every
    endpoint of that name is."""
    up: dict[str, bool] = {}
    for target in snapshot.targets:
        up[target.name] = up.get(target.name, True) and target.up
    family = GaugeMetricFamily(
        "neural_target_up",
        "1 if the last poll of the remote /metrics endpoint answered within its timeout with "
        "metrics that could be read, else 0 (unreachable, slow, an error status or an "
        "unreadable body).",
        labels=("target",),
    )
    for name, is_up in up.items():
        family.add_metric([name], float(is_up))
    return family


FAMILY_BUILDERS: tuple[FamilyBuilder, ...] = (
    predictions_total,
    prediction_latency_seconds,
    errors_total,
    active_models,
    ingest_records_total,
    ingest_errors_total,
    drift_score,
    drift_detected,
    feature_drift,
    feature_drifted,
    feature_drift_threshold,
    feature_drift_p_value,
    data_quality_score,
    missing_values_rate,
    outlier_rate,
    model_accuracy,
    model_precision,
    model_recall,
    model_f1,
    model_labelled_rows,
    labels_joined_total,
    labels_correct_total,
    slo_compliance,
    slo_error_budget_remaining,
    slo_burn_rate,
    target_up,
)


class SnapshotCollector:
    """A prometheus-client Collector over the snapshot current at each scrape.

    `get_snapshot` is called once per scrape, from the HTTP server's thread; snapshots are
    immutable, so every family of one scrape describes the same instant.
    """

    def __init__(self, get_snapshot: Callable[[], Snapshot]) -> None:
        self._get_snapshot = get_snapshot

    def describe(self) -> Iterator[Metric]:
        """Every family, without samples: the registry learns the names, so a scrape can ask
        for some (`/metrics?name[]=...`) and a second collector of the same names is refused.

        Built from an empty snapshot, so registering never waits for the runtime's first one.
        """
        for build in FAMILY_BUILDERS:
            family = build(Snapshot.empty())
            family.samples = []
            yield family

    def collect(self) -> Iterator[Metric]:
        snapshot = self._get_snapshot()
        for build in FAMILY_BUILDERS:
            yield _finite(build(snapshot))


def _finite(family: Metric) -> Metric:
    """`family` without its NaN or infinite samples."""
    if not all(math.isfinite(sample.value) for sample in family.samples):
        family.samples = [s for s in family.samples if math.isfinite(s.value)]
    return family


def build_registry(get_snapshot: Callable[[], Snapshot]) -> CollectorRegistry:
    """A fresh registry with the snapshot metrics and this process's own resource metrics.

    Not the global default registry, so that nothing else imported into the process leaks into
    the exposition; the process collector is included on purpose, so an SRE can watch the
    exporter's memory and CPU (`process_*`) beside the model metrics.
    """
    registry = CollectorRegistry()
    registry.register(SnapshotCollector(get_snapshot))
    ProcessCollector(registry=registry)
    return registry
