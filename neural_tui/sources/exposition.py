"""A `/metrics` body read into the models it describes: one `ScrapedModel` per (model, version).

The text is parsed by prometheus-client's own parsers (the text format, or OpenMetrics when the
server says so); this module only picks neural-tui's metric names out of the families and groups
them by the `model` and `version` labels. Any exporter of those names works: labels in any
order, extra labels ignored (counters and histograms are summed over them, a gauge keeps its
first series), a missing `version` read as "". Each counter series is also kept as it was
exported (`ScrapedModel.counters`), so that rates take each series' own resets into account, as
Prometheus' `sum(rate())` does: one instance of several that restarts is no reset of the sum.

The body is untrusted, so everything kept is bounded: lines, models, features, error types,
SLOs, buckets and the length of every label value kept. What was left out is counted and said
in `Scrape.notes`, which the target's status shows. A sample that is NaN or infinite, or a
counter below zero, is dropped, and so is one whose sum with the series before it is not
finite (two counters of 1e308); a repeated series keeps its first sample. A body the parser
refuses is refused whole (`ExpositionError`), as Prometheus fails such a scrape.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from neural_tui.remote_models import FeatureDriftFigure, RemoteFigures, RemoteLatency, SLOFigure

MAX_LINES = 200_000
"""Most lines of a body: the parser holds a family's samples at once, so this bounds its
memory (a few hundred bytes a sample)."""
MAX_LINE_CHARS = 4096
"""Longest line parsed; a longer one (a label value a megabyte long) is dropped before the
parser sees it, which keeps its per-character work small."""
MAX_LABEL_CHARS = 256
"""Longest label value kept (model, version, feature, error type, ...); a longer series is
dropped rather than truncated, so two long names never merge."""
MAX_MODELS = 500
"""Models kept of one body, the first ones in it."""
MAX_FEATURES = 1000
"""Per-feature drift figures kept of one model."""
MAX_KEYS = 100
"""Error types, drift types, SLOs, burn-rate windows and firing rules kept of one model."""
MAX_BUCKETS = 200
"""Latency histogram buckets kept of one model."""


CounterKey = tuple[Literal["predictions", "errors", "bucket", "count"], str | float,
                   tuple[tuple[str, str], ...]]
"""One counter series of a model: its figure, its error type (`errors`) or bucket bound
(`bucket`, +Inf included; "" for the others), and its labels beyond `model`, `version`,
`error_type` and `le` (the instance, the job, ...)."""
_SERIES_LABELS_LEFT_OUT = frozenset({"model", "version", "error_type", "le"})


class ExpositionError(ValueError):
    """The body is not the Prometheus text format (or OpenMetrics) at all."""


@dataclass(frozen=True, slots=True)
class ScrapedModel:
    """One (model, version) as one body described it: totals as exported, no rates yet."""

    name: str
    version: str
    predictions_total: float
    errors_total: Mapping[str, float]
    latency: RemoteLatency | None
    drift_scores: Mapping[str, float]
    figures: RemoteFigures
    counters: Mapping[CounterKey, float]
    """Every counter series kept above, as exported, for the rates (`remote_rates.py`)."""


@dataclass(frozen=True, slots=True)
class Scrape:
    """Every model of one body, by (name, version), and what was left out of it, one phrase
    each ("kept 500 of 100000 models")."""

    models: Mapping[tuple[str, str], ScrapedModel]
    notes: tuple[str, ...] = ()


def parse_exposition(text: str, *, openmetrics: bool = False) -> Scrape:
    """`text` (a `/metrics` body) as the models it describes.

    Raises `ExpositionError` if the parser refuses the body or it has too many lines.
    """
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        raise ExpositionError(f"{lines} lines, more than {MAX_LINES}")
    reader = _Reader()
    if max(map(len, text.split("\n"))) > MAX_LINE_CHARS:
        text = reader.without_long_lines(text)
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    try:
        reader.read(parse(text))
    except Exception as exc:  # the parser's errors on hostile text are of many types
        raise ExpositionError(" ".join(str(exc).split())[:200] or type(exc).__name__) from exc
    return reader.scrape()


class _Model:
    """What one body says of one model so far (mutable while the body is read)."""

    __slots__ = ("buckets", "count", "counters", "drift", "errors", "features", "gauges",
                 "predictions", "slos", "sum")

    def __init__(self) -> None:
        self.predictions: float | None = None
        self.errors: dict[str, float] = {}
        self.buckets: dict[float, float] = {}
        self.count: float | None = None
        self.sum: float | None = None
        self.drift: dict[str, float] = {}
        self.gauges: dict[str, float] = {}
        self.features: dict[tuple[str, str], list[float | None]] = {}
        self.slos: dict[str, list[Any]] = {}
        self.counters: dict[CounterKey, float] = {}


class _Reader:
    """Reads parsed families into per-model figures, counting what it leaves out."""

    def __init__(self) -> None:
        self.models: dict[tuple[str, str], _Model] = {}
        self.alerts: dict[str, dict[tuple[str, str], float]] = {}
        self.seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self.left_models: set[tuple[str, str]] = set()
        self.counts: dict[str, int] = {}

    def note(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def without_long_lines(self, text: str) -> str:
        kept = []
        for line in text.split("\n"):
            if len(line) > MAX_LINE_CHARS:
                self.note(f"lines longer than {MAX_LINE_CHARS} characters")
            else:
                kept.append(line)
        return "\n".join(kept)

    def read(self, families: Iterable[Any]) -> None:
        handlers = _HANDLERS
        for family in families:
            if family.name not in _FAMILY_NAMES:
                continue
            for sample in family.samples:
                handler = handlers.get(sample.name)
                if handler is not None:
                    self.sample(handler, sample.name, sample.labels, sample.value)

    def sample(self, handler: _Handler, name: str, labels: dict[str, str], raw: Any) -> None:
        """One sample of the contract, unless it is not finite, too long or repeated."""
        try:
            value = float(raw)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            self.note("samples not finite")
            return
        if labels and max(map(len, labels.values())) > MAX_LABEL_CHARS:
            self.note(f"series with a label longer than {MAX_LABEL_CHARS} characters")
            return
        key = (name, tuple(sorted(labels.items())))
        if key in self.seen:
            self.note("repeated series")
            return
        self.seen.add(key)
        handler(self, labels, value)

    def model(self, labels: dict[str, str]) -> _Model | None:
        """The model a series belongs to, None if it names none or past `MAX_MODELS`."""
        name = labels.get("model")
        if not name:
            return None
        key = (name, labels.get("version", ""))
        model = self.models.get(key)
        if model is None:
            if len(self.models) >= MAX_MODELS:
                self.left_models.add(key)
                return None
            model = self.models[key] = _Model()
        return model

    def scrape(self) -> Scrape:
        models = {key: self.build(key, model) for key, model in self.models.items()}
        notes = [f"{count} {what}" for what, count in self.counts.items()]
        if self.left_models:
            total = len(self.models) + len(self.left_models)
            notes.insert(0, f"kept {len(self.models)} of {total} models")
        return Scrape(models, tuple(notes))

    def build(self, key: tuple[str, str], model: _Model) -> ScrapedModel:
        gauges = model.gauges
        figures = RemoteFigures(
            feature_drift=tuple(
                FeatureDriftFigure(feature, test, stat,
                                   None if drifted is None else drifted >= 0.5, threshold,
                                   p_value)
                for (feature, test), (stat, drifted, threshold, p_value)
                in model.features.items()
                if stat is not None
            ),
            quality_score=gauges.get("neural_data_quality_score"),
            missing_rate=gauges.get("neural_missing_values_rate"),
            outlier_rate=gauges.get("neural_outlier_rate"),
            accuracy=gauges.get("neural_model_accuracy"),
            precision=gauges.get("neural_model_precision"),
            recall=gauges.get("neural_model_recall"),
            f1=gauges.get("neural_model_f1"),
            slos=tuple(SLOFigure(slo, compliance, budget, burn)
                       for slo, (compliance, budget, burn) in model.slos.items()),
            alerts_firing={rule: int(count) for rule, count
                           in self.alerts.get(key[0], {}).items()},
        )
        return ScrapedModel(
            name=key[0],
            version=key[1],
            predictions_total=model.predictions or 0.0,
            errors_total=model.errors,
            latency=_latency(model),
            drift_scores=model.drift,
            figures=figures,
            counters=model.counters,
        )


def _latency(model: _Model) -> RemoteLatency | None:
    """The histogram, if it has a +Inf bucket or a count (the same number by definition; when
    an exporter says otherwise, the +Inf bucket, which `histogram_quantile` reads)."""
    infinite = model.buckets.pop(math.inf, None)
    count = infinite if infinite is not None else model.count
    if count is None:
        return None
    bounds = sorted(model.buckets)
    return RemoteLatency(
        bounds_seconds=tuple(bounds),
        cumulative_counts=tuple(model.buckets[bound] for bound in bounds),
        count=count,
        sum_seconds=model.sum if model.sum is not None else 0.0,
    )


_Handler = Callable[[_Reader, dict[str, str], float], None]
_ModelHandler = Callable[[_Reader, _Model, dict[str, str], float], None]


def _per_model(read: _ModelHandler) -> _Handler:
    """`read` applied to the model the series names (none: the series is ignored)."""

    def handler(reader: _Reader, labels: dict[str, str], value: float) -> None:
        model = reader.model(labels)
        if model is not None:
            read(reader, model, labels, value)

    return handler


def _counted(reader: _Reader, model: _Model, figure: Literal["predictions", "errors", "bucket",
                                                             "count"],
             sub: str | float, labels: dict[str, str], total: float | None, value: float
             ) -> float | None:
    """`total` plus the counter sample `value`, which is also kept by series; None (and the
    sample said dropped) when it is below zero or the sum would not be finite."""
    if value < 0:
        reader.note("counters below zero")
        return None
    added = (total or 0.0) + value
    if not math.isfinite(added):
        reader.note("samples whose sum is not finite")
        return None
    rest = tuple(sorted(item for item in labels.items()
                        if item[0] not in _SERIES_LABELS_LEFT_OUT))
    key: CounterKey = (figure, sub, rest)
    model.counters[key] = model.counters.get(key, 0.0) + value
    return added


def _add(reader: _Reader, total: float | None, value: float) -> float | None:
    """`total` plus `value`, or `total` unchanged (and the sample said dropped) when the sum
    overflows: every figure kept stays finite."""
    added = (total or 0.0) + value
    if math.isfinite(added):
        return added
    reader.note("samples whose sum is not finite")
    return total


def _predictions(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    total = _counted(reader, model, "predictions", "", labels, model.predictions, value)
    if total is not None:
        model.predictions = total


def _errors(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    kind = labels.get("error_type", "")
    if kind in model.errors or len(model.errors) < MAX_KEYS:
        total = _counted(reader, model, "errors", kind, labels, model.errors.get(kind), value)
        if total is not None:
            model.errors[kind] = total
    else:
        reader.note("error types past the limit")


def _bucket(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    try:
        bound = float(labels.get("le", ""))
    except ValueError:
        bound = math.nan
    if math.isnan(bound):
        reader.note("buckets without a number in le")
    elif bound in model.buckets or len(model.buckets) < MAX_BUCKETS:
        total = _counted(reader, model, "bucket", bound, labels, model.buckets.get(bound), value)
        if total is not None:
            model.buckets[bound] = total
    else:
        reader.note("buckets past the limit")


def _count(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    total = _counted(reader, model, "count", "", labels, model.count, value)
    if total is not None:
        model.count = total


def _sum(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    model.sum = _add(reader, model.sum, value)


def _drift_score(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    kind = labels.get("drift_type", "")
    if len(model.drift) < MAX_KEYS:
        model.drift.setdefault(kind, value)
    elif kind not in model.drift:
        reader.note("drift types past the limit")


def _gauge(name: str) -> _ModelHandler:
    def read(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
        model.gauges.setdefault(name, value)

    return read


def _feature(slot: int) -> _ModelHandler:
    """The statistic (0), the 0/1 verdict (1), the threshold (2) or the p-value (3) of one
    feature's test."""

    def read(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
        key = (labels.get("feature", ""), labels.get("test", ""))
        figures = model.features.get(key)
        if figures is None:
            if len(model.features) >= MAX_FEATURES:
                reader.note("feature figures past the limit")
                return
            figures = model.features[key] = [None, None, None, None]
        if figures[slot] is None:
            figures[slot] = value

    return read


def _slo_figures(reader: _Reader, model: _Model, labels: dict[str, str]) -> list[Any] | None:
    slo = labels.get("slo", "")
    figures = model.slos.get(slo)
    if figures is None:
        if len(model.slos) >= MAX_KEYS:
            reader.note("SLOs past the limit")
            return None
        figures = model.slos[slo] = [None, None, {}]
    return figures


def _slo(slot: int) -> _ModelHandler:
    """The compliance (0) or the budget left (1) of one SLO."""

    def read(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
        figures = _slo_figures(reader, model, labels)
        if figures is not None and figures[slot] is None:
            figures[slot] = value

    return read


def _burn_rate(reader: _Reader, model: _Model, labels: dict[str, str], value: float) -> None:
    figures = _slo_figures(reader, model, labels)
    if figures is None:
        return
    burn: dict[str, float] = figures[2]
    window = labels.get("window", "")
    if len(burn) < MAX_KEYS:
        burn.setdefault(window, value)
    elif window not in burn:
        reader.note("burn-rate windows past the limit")


def _alerts_firing(reader: _Reader, labels: dict[str, str], value: float) -> None:
    """Firing alerts by model name: an alert names a model but no version, so every version
    of the model shows them."""
    model = labels.get("model")
    if not model:
        return
    rules = reader.alerts.setdefault(model, {})
    key = (labels.get("rule", ""), labels.get("severity", ""))
    if key in rules or len(rules) < MAX_KEYS:
        rules[key] = _add(reader, rules.get(key), value) or 0.0
    else:
        reader.note("firing rules past the limit")


ALERTS_FIRING = "neural_alerts_firing"
LATENCY = "neural_prediction_latency_seconds"

_HANDLERS: dict[str, _Handler] = {
    "neural_predictions_total": _per_model(_predictions),
    "neural_errors_total": _per_model(_errors),
    f"{LATENCY}_bucket": _per_model(_bucket),
    f"{LATENCY}_count": _per_model(_count),
    f"{LATENCY}_sum": _per_model(_sum),
    "neural_drift_score": _per_model(_drift_score),
    "neural_data_quality_score": _per_model(_gauge("neural_data_quality_score")),
    "neural_missing_values_rate": _per_model(_gauge("neural_missing_values_rate")),
    "neural_outlier_rate": _per_model(_gauge("neural_outlier_rate")),
    "neural_model_accuracy": _per_model(_gauge("neural_model_accuracy")),
    "neural_model_precision": _per_model(_gauge("neural_model_precision")),
    "neural_model_recall": _per_model(_gauge("neural_model_recall")),
    "neural_model_f1": _per_model(_gauge("neural_model_f1")),
    "neural_feature_drift": _per_model(_feature(0)),
    "neural_feature_drifted": _per_model(_feature(1)),
    "neural_feature_drift_threshold": _per_model(_feature(2)),
    "neural_feature_drift_p_value": _per_model(_feature(3)),
    "neural_slo_compliance": _per_model(_slo(0)),
    "neural_slo_error_budget_remaining": _per_model(_slo(1)),
    "neural_slo_burn_rate": _per_model(_burn_rate),
    ALERTS_FIRING: _alerts_firing,
}
"""What each sample name of the contract adds to a model."""

_FAMILY_NAMES = frozenset(
    {*_HANDLERS, "neural_predictions", "neural_errors", LATENCY}
)
"""The family names the parsers give those samples: a counter's without `_total`, a
histogram's without its suffixes, and each sample's own name when a body has no TYPE line."""
