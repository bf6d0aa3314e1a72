"""Prometheus metrics read from the latest Snapshot.

A custom Collector turns whatever snapshot is current at scrape time into metric families, so
the exporter holds no state of its own: no Gauge per series to keep in step, no stale label
sets left behind when a model disappears. Each family is built by one small function in
`FAMILY_BUILDERS`; a new metric (drift, quality, SLO) is one more function in that tuple.
A builder makes a light `metrics_text.Family` (label values as tuples): `/metrics` renders it
straight to text (`ExporterRegistry.exposition`), and the Collector turns it into
prometheus-client's families for everything else (`?name[]=`, `generate_latest`).

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

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from neural_tui.metrics_text import Family, LabelValues, render
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot

if TYPE_CHECKING:
    from neural_tui.engines.drift import DriftReport, FeatureDrift
    from neural_tui.engines.performance import PerformanceReport
    from neural_tui.engines.quality import QualityReport
    from neural_tui.engines.slo import SLOStatus

MODEL_LABELS: tuple[str, str] = ("model", "version")

ACTIVE_MODEL_SECONDS = 300.0
"""A model counts in `neural_active_models` if its last record is this recent."""

FamilyBuilder = Callable[[Snapshot], Family]


def _model_label_values(model: ModelSnapshot) -> LabelValues:
    return (model.name, model.version)


def predictions_total(snapshot: Snapshot) -> Family:
    return Family(
        "neural_predictions_total", "counter",
        "Predictions recorded since the start of storage.",
        MODEL_LABELS,
        [(_model_label_values(model), model.predictions_total)
         for model in snapshot.local_models],
    )


def prediction_latency_seconds(snapshot: Snapshot) -> Family:
    """The bounds are prometheus-client's defaults plus every latency SLO's threshold
    (`LatencyHistogram.bounds_seconds`), written as prometheus-client writes `le`."""
    family = Family(
        "neural_prediction_latency_seconds", "histogram",
        "Prediction latency since the start of storage (records without a latency excluded).",
        MODEL_LABELS,
    )
    for model in snapshot.local_models:
        histogram = model.latency
        bounds = [floatToGoString(bound) for bound in histogram.bounds_seconds]
        buckets: list[tuple[str, float]] = [
            *zip(bounds, histogram.cumulative_counts, strict=True),
            ("+Inf", histogram.count),
        ]
        family.histograms.append((_model_label_values(model), buckets, histogram.sum_seconds))
    return family


def labels_joined_total(snapshot: Snapshot) -> Family:
    """With `neural_labels_correct_total`, what an accuracy SLO is computed from in Prometheus:
    counters, so a rate over any window is exact (the accuracy gauge covers only the newest
    labelled rows)."""
    return Family(
        "neural_labels_joined_total", "counter",
        "Predictions joined with their label since the start of storage.",
        MODEL_LABELS,
        [(_model_label_values(model), model.labels_joined) for model in snapshot.local_models],
    )


def labels_correct_total(snapshot: Snapshot) -> Family:
    return Family(
        "neural_labels_correct_total", "counter",
        "Predictions joined with their label that matched it, since the start of storage.",
        MODEL_LABELS,
        [(_model_label_values(model), model.labels_correct) for model in snapshot.local_models],
    )


def errors_total(snapshot: Snapshot) -> Family:
    return Family(
        "neural_errors_total", "counter",
        "Failed requests since the start of storage, by error type.",
        (*MODEL_LABELS, "error_type"),
        [((model.name, model.version, error_type), count)
         for model in snapshot.local_models
         for error_type, count in sorted(model.errors_total.items())],
    )


def active_models(snapshot: Snapshot) -> Family:
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
    return Family(
        "neural_active_models", "gauge",
        f"Models with a record in the last {ACTIVE_MODEL_SECONDS:g} seconds.",
        series=[((), active)],
    )


def ingest_records_total(snapshot: Snapshot) -> Family:
    return Family(
        "neural_ingest_records_total", "counter",
        "Valid records read by the sources.",
        series=[((), snapshot.ingest.records_total)],
    )


def ingest_errors_total(snapshot: Snapshot) -> Family:
    return Family(
        "neural_ingest_errors_total", "counter",
        "Input lines skipped by the sources, by reason; invalid_latency and long_value count "
        "lines kept with a value dropped or replaced.",
        ("reason",),
        [((reason,), count) for reason, count in sorted(snapshot.ingest.line_problems.items())],
    )


def drift_score(snapshot: Snapshot) -> Family:
    """One series per kind of drift the engines could measure for a model.

    The meaning of each `drift_type` is written down in `neural_tui.runtime.verdict`.
    """
    return Family(
        "neural_drift_score", "gauge",
        "Drift by type: distribution (share of drifted features), prediction (deciding "
        "statistic), concept (Page-Hinkley statistic / threshold), performance (drop of "
        "accuracy, or relative rise of RMSE, against the reference period).",
        (*MODEL_LABELS, "drift_type"),
        [((model.name, model.version, drift_type), score)
         for model in snapshot.local_models
         for drift_type, score in sorted(model.drift_scores.items())],
    )


def drift_detected(snapshot: Snapshot) -> Family:
    """The model's one drift verdict, 1 or 0; no series while there is none yet."""
    return Family(
        "neural_drift_detected", "gauge",
        "1 if the model drifted (a feature, the predictions, concept, or performance), else 0.",
        MODEL_LABELS,
        [(_model_label_values(model), float(model.drifted))
         for model in snapshot.local_models if model.drifted is not None],
    )


FEATURE_LABELS: tuple[str, ...] = (*MODEL_LABELS, "feature", "test")


def _tested_features(snapshot: Snapshot) -> Iterator[tuple[LabelValues, FeatureDrift, DriftReport]]:
    """Each feature of a local model that a test measured (a finite statistic), with its label
    values and its report: the four per-feature families share these series, so a rule can
    join them."""
    for model in snapshot.local_models:
        if model.drift is None:
            continue
        for feature in model.drift.features:
            if feature.statistic is not None and math.isfinite(feature.statistic):
                yield (model.name, model.version, feature.name, feature.test), feature, model.drift


def _feature_family(
    name: str, documentation: str, value: Callable[[FeatureDrift, DriftReport], float | None]
) -> FamilyBuilder:
    """A gauge of one figure of each tested feature, with a series only where it exists."""

    def build(snapshot: Snapshot) -> Family:
        family = Family(name, "gauge", documentation, FEATURE_LABELS)
        for label_values, feature, report in _tested_features(snapshot):
            figure = value(feature, report)
            if figure is not None:
                family.series.append((label_values, figure))
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

    def build(snapshot: Snapshot) -> Family:
        return Family(name, "gauge", documentation, MODEL_LABELS,
                      [(_model_label_values(model), value(model.quality))
                       for model in snapshot.local_models if model.quality is not None])

    return build


def _performance_family(
    name: str, documentation: str, value: Callable[[PerformanceReport], float | None]
) -> FamilyBuilder:
    """A gauge of one performance figure, with a series only where it could be computed."""

    def build(snapshot: Snapshot) -> Family:
        family = Family(name, "gauge", documentation, MODEL_LABELS)
        for model in snapshot.local_models:
            figure = value(model.performance) if model.performance is not None else None
            if figure is not None:
                family.series.append((_model_label_values(model), figure))
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


def _slo_statuses(snapshot: Snapshot) -> Iterator[tuple[LabelValues, SLOStatus]]:
    """Each SLO status with its label values: the runtime judges each version of a model on
    its own traffic, so `version` keeps two versions' figures apart."""
    for model in snapshot.local_models:
        for status in model.slos:
            yield (status.spec.name, model.name, model.version), status


def _slo_family(
    name: str, documentation: str, value: Callable[[SLOStatus], float | None]
) -> FamilyBuilder:
    """A gauge of one SLO figure, with a series only where it could be computed."""

    def build(snapshot: Snapshot) -> Family:
        family = Family(name, "gauge", documentation, SLO_LABELS)
        for label_values, status in _slo_statuses(snapshot):
            figure = value(status)
            if figure is not None:
                family.series.append((label_values, figure))
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


def slo_burn_rate(snapshot: Snapshot) -> Family:
    family = Family(
        "neural_slo_burn_rate", "gauge",
        "How fast the SLO spends its error budget over a window: (bad/total) / "
        "(1 - objective); 1 spends it exactly over the SLO window.",
        (*SLO_LABELS, "window"),
    )
    for label_values, status in _slo_statuses(snapshot):
        for window, rate in status.burn_rates.items():
            if rate is not None:
                family.series.append(((*label_values, window), rate))
    return family


def target_up(snapshot: Snapshot) -> Family:
    """Each remote endpoint this process polls; a name listed twice is up only if every
    endpoint of that name is."""
    up: dict[str, bool] = {}
    for target in snapshot.targets:
        up[target.name] = up.get(target.name, True) and target.up
    return Family(
        "neural_target_up", "gauge",
        "1 if the last poll of the remote /metrics endpoint answered within its timeout with "
        "metrics that could be read, else 0 (unreachable, slow, an error status or an "
        "unreadable body).",
        ("target",),
        [((name,), float(is_up)) for name, is_up in up.items()],
    )


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

    def families(self) -> list[Family]:
        """Every family of the current snapshot, for the fast text path (`exposition`)."""
        snapshot = self._get_snapshot()
        return [build(snapshot) for build in FAMILY_BUILDERS]

    def describe(self) -> Iterator[Metric]:
        """Every family, without samples: the registry learns the names, so a scrape can ask
        for some (`/metrics?name[]=...`) and a second collector of the same names is refused.

        Built from an empty snapshot, so registering never waits for the runtime's first one.
        """
        for build in FAMILY_BUILDERS:
            family = _metric(build(Snapshot.empty()))
            family.samples = []
            yield family

    def collect(self) -> Iterator[Metric]:
        for family in self.families():
            yield _finite(_metric(family))


def _metric(family: Family) -> Metric:
    """`family` as a prometheus-client family, for `generate_latest` and its parsers."""
    labels = family.label_names
    if family.kind == "histogram":
        histogram = HistogramMetricFamily(family.name, family.documentation, labels=labels)
        for values, buckets, total in family.histograms:
            histogram.add_metric(list(values), buckets, total)
        return histogram
    metric: CounterMetricFamily | GaugeMetricFamily = (
        CounterMetricFamily(family.name, family.documentation, labels=labels)
        if family.kind == "counter"
        else GaugeMetricFamily(family.name, family.documentation, labels=labels))
    for values, value in family.series:
        metric.add_metric(list(values), value)
    return metric


def _finite(family: Metric) -> Metric:
    """`family` without its NaN or infinite samples."""
    if not all(math.isfinite(sample.value) for sample in family.samples):
        family.samples = [s for s in family.samples if math.isfinite(s.value)]
    return family


class ExporterRegistry(CollectorRegistry):
    """A registry whose snapshot families are rendered by `metrics_text` (`exposition`),
    and every other collector registered on it (the process's, the alerts') by
    prometheus-client, in the order they were registered.

    Everything else is a plain `CollectorRegistry`: names are refused twice, and
    `restricted_registry` (`/metrics?name[]=...`) collects through prometheus-client.
    """

    def __init__(self, get_snapshot: Callable[[], Snapshot]) -> None:
        self.snapshot_collector = SnapshotCollector(get_snapshot)
        self._others: list[Collector] = []
        super().__init__()
        self.register(self.snapshot_collector)

    def register(self, collector: Collector) -> None:
        super().register(collector)
        if collector is not self.snapshot_collector:
            self._others.append(collector)

    def unregister(self, collector: Collector) -> None:
        super().unregister(collector)
        if collector in self._others:
            self._others.remove(collector)

    def exposition(self) -> bytes:
        """The whole registry in the text format 0.0.4, as `generate_latest` writes it."""
        fast = render(self.snapshot_collector.families()).encode("utf-8")
        return fast + generate_latest(_Collectors(tuple(self._others)))


class _Collectors:
    """Some collectors, collected in turn: what `generate_latest` renders after the snapshot
    families."""

    def __init__(self, collectors: tuple[Collector, ...]) -> None:
        self._collectors = collectors

    def collect(self) -> Iterator[Metric]:
        for collector in self._collectors:
            yield from collector.collect()


def build_registry(get_snapshot: Callable[[], Snapshot]) -> ExporterRegistry:
    """A fresh registry with the snapshot metrics and this process's own resource metrics.

    Not the global default registry, so that nothing else imported into the process leaks into
    the exposition; the process collector is included on purpose, so an SRE can watch the
    exporter's memory and CPU (`process_*`) beside the model metrics.
    """
    registry = ExporterRegistry(get_snapshot)
    ProcessCollector(registry=registry)
    return registry
