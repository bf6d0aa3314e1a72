"""The fleet read from a Prometheus server's HTTP API, one round every interval.

A round asks every query of `prometheus_queries` at once (instant queries at one shared
time, range queries over the last `series_seconds` for the sparklines) and folds the answers
into one `RemoteView` labelled `prometheus`, a `RemoteModel` per (model, version). The answers
are untrusted: a round bounded by the endpoint's timeout, each body by
`prometheus_api.MAX_BODY_BYTES`, labels and model counts bounded here; NaN or infinite
figures (Prometheus' own answer for a quantile of no traffic) read as unknown, and a counter
that is not a finite non-negative number is left out and said. A round that cannot read the
totals has no models and says why in `RemoteView.problem`; the next round tries again.

The view's `targets` are the exporters Prometheus scrapes, by Prometheus' `up` for each
(`scraped_by` the source's label): an exporter it cannot scrape is down there, so `health`
fails on it and the console counts it, rather than its models leaving without a word.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from neural_tui.remote_models import (
    Endpoint,
    FeatureDriftFigure,
    RemoteFigures,
    RemoteLatency,
    RemoteModel,
    RemoteView,
    SLOFigure,
    TargetStatus,
)
from neural_tui.sources import prometheus_queries as q
from neural_tui.sources.prometheus_api import (
    InstantSample,
    Labels,
    PrometheusAPI,
    QueryError,
    RangeSeries,
    one_line,
)
from neural_tui.sources.workers import DaemonExecutor

PARSE_THREADS = 2
"""Daemon threads parsing answers and folding a round, so the event loop only moves bytes
(and the analysis keeps the default executor to itself)."""

MAX_MODELS = 1000
"""Models kept of one round (the first by name and version), as `[runtime] max_models`."""

MAX_FEATURES = 1000
"""Per-feature drift figures kept per model."""

MAX_LABEL_CHARS = 256
"""A series with a longer label value is left out: no model or feature is named like that."""

MAX_INSTANCE_CHARS = 200
"""How much of the joined `instance` labels a model carries."""

MAX_EXPORTERS = 1000
"""Exporters kept of one round, the down ones first."""

MAX_EXPORTER_NAME_CHARS = 200
"""How much of an exporter's `job/instance` its status carries as name (and of `instance` as
URL)."""

LABEL = "prometheus"
"""The source's label, its view's, and its exporters' `scraped_by`."""

MAX_SERIES_POINTS = 300
"""Points per sparkline: the step grows past one interval when `series_seconds` needs more."""

T = TypeVar("T")
Key = tuple[str, str]
Answers = Mapping[str, tuple[InstantSample, ...]]
RangeAnswers = Mapping[str, tuple[RangeSeries, ...]]


class PrometheusSource:
    """Instant and range queries over the exported metric names, every interval."""

    def __init__(self, endpoint: Endpoint, *, rate_window_seconds: float = 60.0,
                 series_seconds: int = 300, clock: Callable[[], float] = time.time) -> None:
        self.endpoint = endpoint
        self.rate_window_seconds = rate_window_seconds
        self.series_seconds = series_seconds
        self.clock = clock
        self.queries = q.fleet_queries(rate_window_seconds)
        self._workers = DaemonExecutor(PARSE_THREADS, "neural-tui-prometheus")

    @property
    def label(self) -> str:
        return LABEL

    async def views(self) -> AsyncIterator[RemoteView]:
        """One view per round, a round starting every interval (or at once after a slow one)."""
        async with PrometheusAPI(self.endpoint, self._workers) as api:
            while True:
                started = time.monotonic()
                yield await self._round(api)
                elapsed = time.monotonic() - started
                await asyncio.sleep(max(0.0, self.endpoint.interval_seconds - elapsed))

    async def fetch(self) -> tuple[RemoteView, ...]:
        async with PrometheusAPI(self.endpoint, self._workers) as api:
            return (await self._round(api),)

    async def _round(self, api: PrometheusAPI) -> RemoteView:
        at = self.clock()
        grid = series_grid(at, self.series_seconds, self.endpoint.interval_seconds)
        instant = self.queries.instant
        ranged = self.queries.ranged
        try:
            async with asyncio.timeout(self.endpoint.timeout_seconds):
                instant_outcomes, range_outcomes = await asyncio.gather(
                    asyncio.gather(*(_attempt(api.query(expr, at))
                                     for expr in instant.values())),
                    asyncio.gather(*(_attempt(api.query_range(expr, grid.start, grid.end,
                                                              grid.step))
                                     for expr in ranged.values())),
                )
        except TimeoutError:
            return self._failed(at, f"no answer within {self.endpoint.timeout_seconds:g} s")
        answers: dict[str, tuple[InstantSample, ...]] = {}
        series: dict[str, tuple[RangeSeries, ...]] = {}
        failures: list[tuple[str, QueryError]] = []
        for name, outcome in zip(instant, instant_outcomes, strict=True):
            if isinstance(outcome, QueryError):
                failures.append((name, outcome))
            else:
                answers[name] = outcome
        for name, found in zip(ranged, range_outcomes, strict=True):
            if isinstance(found, QueryError):
                failures.append((f"{name} series", found))
            else:
                series[name] = found
        if q.TOTALS not in answers:
            return self._failed(at, _failure_line(failures))
        fleet = await asyncio.get_running_loop().run_in_executor(
            self._workers, build_models, answers, series, grid, self.rate_window_seconds)
        problems = [_failure_line(failures)] if failures else []
        problems += fleet.notes
        return RemoteView(self.label, at, fleet.models, targets=fleet.exporters,
                          problem=self._where("; ".join(problems)) if problems else None)

    def _failed(self, at: float, reason: str) -> RemoteView:
        return RemoteView(self.label, at, (), problem=self._where(reason))

    def _where(self, reason: str) -> str:
        return one_line(f"prometheus {self.endpoint.url}: {reason}")


async def _attempt(call: Awaitable[T]) -> T | QueryError:
    """The answer, or the query's failure as a value: one failing query fails no other."""
    try:
        return await call
    except QueryError as exc:
        return exc


def _failure_line(failures: Sequence[tuple[str, QueryError]]) -> str:
    name, error = failures[0]
    more = f" (and {len(failures) - 1} more queries failing)" if len(failures) > 1 else ""
    return f"query {name}: {error}{more}"


@dataclass(frozen=True, slots=True)
class SeriesGrid:
    """The times a round's range queries are evaluated at: `start`, `start + step`, ...
    `end`, aligned to the step so consecutive rounds' sparklines line up."""

    start: float
    end: float
    step: float

    @property
    def points(self) -> int:
        return round((self.end - self.start) / self.step) + 1


def series_grid(at: float, series_seconds: float, interval_seconds: float) -> SeriesGrid:
    step = max(interval_seconds, 1.0)
    if series_seconds / step >= MAX_SERIES_POINTS - 1:
        step = series_seconds / (MAX_SERIES_POINTS - 1)
        points = MAX_SERIES_POINTS
    else:
        points = int(series_seconds // step) + 1
    end = math.floor(at / step) * step
    return SeriesGrid(start=end - (points - 1) * step, end=end, step=step)


@dataclass(slots=True)
class Fleet:
    """A round's models and exporters, and what was left out of them (one short phrase
    each)."""

    models: tuple[RemoteModel, ...]
    notes: list[str] = field(default_factory=list)
    exporters: tuple[TargetStatus, ...] = ()


def build_models(answers: Answers, series: RangeAnswers, grid: SeriesGrid,
                 window_seconds: float) -> Fleet:
    """Every (model, version) of the totals answer with whatever the other answers say of it,
    and the exporters of the `up` answer."""
    read = _Reader()
    totals = read.tables(answers.get(q.TOTALS, ()), counters=True)
    predictions = {key: row[()] for key, row in totals.get(q.PREDICTIONS, {}).items()}
    keys = sorted(predictions)
    notes = []
    if len(keys) > MAX_MODELS:
        notes.append(f"{len(keys) - MAX_MODELS} models past the first {MAX_MODELS} left out")
        keys = keys[:MAX_MODELS]
    errors = read.table(answers.get(q.ERRORS_BY_TYPE, ()), ("error_type",), counters=True)
    buckets = read.table(answers.get(q.BUCKETS, ()), ("le",), counters=True)
    drift = read.table(answers.get(q.DRIFT, ()), ("drift_type",))
    ratios = {name: read.table(answers.get(name, ()))
              for name in (q.THROUGHPUT, q.ERROR_RATE, *q.QUANTILES)}
    gauges = {**read.tables(answers.get(q.HIGHEST, ())), **read.tables(answers.get(q.LOWEST, ()))}
    features = {**read.tables(answers.get(q.FEATURES, ()), ("feature", "test")),
                **read.tables(answers.get(q.FEATURE_P_VALUES, ()), ("feature", "test"))}
    slos = read.tables(answers.get(q.SLOS, ()), ("slo",))
    burn_rates = read.table(answers.get(q.BURN_RATES, ()), ("slo", "window"))
    alerts = _alerts(read, answers.get(q.ALERTS, ()))
    instances = _instances(read, answers.get(q.INSTANCES, ()))
    history = {name: _series(read, series.get(name, ()), grid) for name in q.SERIES_QUERIES}

    def one(table: Table, key: Key) -> float | None:
        return table.get(key, {}).get(())

    def gauge(name: str, key: Key) -> float | None:
        return one(gauges.get(name, {}), key)

    models = []
    for key in keys:
        models.append(RemoteModel(
            name=key[0],
            version=key[1],
            predictions_total=predictions[key],
            errors_total=_by_first_label(errors.get(key, {})),
            latency=_latency(_by_first_label(buckets.get(key, {})),
                             one(totals.get(q.LATENCY_COUNT, {}), key),
                             one(totals.get(q.LATENCY_SUM, {}), key)),
            throughput_rps=_rate(one(ratios[q.THROUGHPUT], key)),
            error_rate=_rate(one(ratios[q.ERROR_RATE], key)),
            latency_p50_ms=_milliseconds(one(ratios[q.P50], key)),
            latency_p95_ms=_milliseconds(one(ratios[q.P95], key)),
            latency_p99_ms=_milliseconds(one(ratios[q.P99], key)),
            window_seconds=window_seconds,
            throughput_series=history[q.THROUGHPUT].get(key, ()),
            error_rate_series=history[q.ERROR_RATE].get(key, ()),
            latency_p95_series=tuple(value * 1000.0 for value in history[q.P95].get(key, ())),
            drift_scores=_by_first_label(drift.get(key, {})),
            figures=RemoteFigures(
                feature_drift=_feature_drift(
                    {name: table.get(key, {}) for name, table in features.items()}),
                quality_score=gauge(q.QUALITY_SCORE, key),
                missing_rate=gauge(q.MISSING_RATE, key),
                outlier_rate=gauge(q.OUTLIER_RATE, key),
                accuracy=gauge(q.ACCURACY, key),
                precision=gauge(q.PRECISION, key),
                recall=gauge(q.RECALL, key),
                f1=gauge(q.F1, key),
                slos=_slos({name: table.get(key, {}) for name, table in slos.items()},
                           burn_rates.get(key, {})),
                alerts_firing=dict(alerts.get(key[0], {})),
            ),
            instance=instances.get(key, ""),
        ))
    exporters, left_out = exporter_statuses(answers.get(q.EXPORTERS, ()))
    if left_out:
        notes.append(f"{left_out} exporters past the first {MAX_EXPORTERS} left out "
                     "(the down ones kept first)")
    notes += read.notes()
    return Fleet(tuple(models), notes, exporters)


def exporter_statuses(samples: Sequence[InstantSample]) -> tuple[tuple[TargetStatus, ...], int]:
    """Each exporter of the `up` answer as a status named `job/instance` (cut to
    `MAX_EXPORTER_NAME_CHARS`; two names cut alike are one, down if either is), up only when
    `up` is 1; the down ones first, then by name, at most `MAX_EXPORTERS` of them, with how
    many were left out."""
    down: dict[str, str] = {}
    urls: dict[str, str] = {}
    for sample in samples:
        job, instance = sample.labels.get("job", ""), sample.labels.get("instance", "")
        name = one_line(f"{job}/{instance}" if job else instance,
                        MAX_EXPORTER_NAME_CHARS) or "(no job or instance)"
        urls.setdefault(name, one_line(instance, MAX_EXPORTER_NAME_CHARS))
        if sample.value != 1 and name not in down:
            down[name] = ("Prometheus cannot scrape it (up == 0)" if sample.value == 0
                          else f"Prometheus' up for it is {sample.value:g}, not 1")
    names = sorted(urls, key=lambda name: (name not in down, name))
    statuses = tuple(TargetStatus(name=name, url=urls[name], up=name not in down,
                                  detail=down.get(name, ""), scraped_by=LABEL)
                     for name in names[:MAX_EXPORTERS])
    return statuses, max(0, len(names) - MAX_EXPORTERS)


Row = dict[tuple[str, ...], float]
"""One model's values by the values of the labels asked for (`()` when none)."""
Table = dict[Key, Row]


class _Reader:
    """Reads answers into tables keyed by (model, version), leaving out (and counting) series
    whose labels are too long and counters that are not finite non-negative numbers; other
    non-finite values are left out silently: they mean "unknown"."""

    def __init__(self) -> None:
        self.long_labels = 0
        self.bad_counters = 0

    def key(self, labels: Labels) -> Key | None:
        if max(map(len, labels.values()), default=0) > MAX_LABEL_CHARS:
            self.long_labels += 1
            return None
        model = labels.get("model")
        return (model, labels.get("version", "")) if model else None

    def counter(self, value: float) -> bool:
        if math.isfinite(value) and value >= 0:
            return True
        self.bad_counters += 1
        return False

    def table(self, samples: Sequence[InstantSample], by: Sequence[str] = (), *,
              counters: bool = False) -> Table:
        """Each model's values by the values of its `by` labels."""
        table: Table = defaultdict(dict)
        for sample in samples:
            key = self.key(sample.labels)
            if key is None or (counters and not self.counter(sample.value)) \
                    or not math.isfinite(sample.value):
                continue
            table[key][tuple(sample.labels.get(label, "") for label in by)] = sample.value
        return table

    def tables(self, samples: Sequence[InstantSample], by: Sequence[str] = (), *,
               counters: bool = False) -> dict[str, Table]:
        """`table` per metric name, for an answer aggregated `by (__name__, ...)`."""
        named: dict[str, list[InstantSample]] = defaultdict(list)
        for sample in samples:
            named[sample.labels.get("__name__", "")].append(sample)
        return {name: self.table(found, by, counters=counters) for name, found in named.items()}

    def notes(self) -> list[str]:
        notes = []
        if self.long_labels:
            notes.append(f"{self.long_labels} series with a label over {MAX_LABEL_CHARS} "
                         "characters left out")
        if self.bad_counters:
            notes.append(f"{self.bad_counters} counter samples that are not finite "
                         "non-negative numbers left out")
        return notes


def _by_first_label(row: Row) -> dict[str, float]:
    return {labels[0]: value for labels, value in row.items()}


def _rate(value: float | None) -> float | None:
    return value if value is not None and value >= 0 else None


def _milliseconds(seconds: float | None) -> float | None:
    return seconds * 1000.0 if seconds is not None and seconds >= 0 else None


def _latency(buckets: Mapping[str, float], count: float | None,
             sum_seconds: float | None) -> RemoteLatency | None:
    """The cumulative histogram: finite bounds sorted, counts made non-decreasing (instances
    with different bounds can sum to a dip, which `histogram_quantile` smooths the same way),
    the +Inf bucket as the count."""
    bounds: dict[float, float] = {}
    for le, cumulative_count in buckets.items():
        try:
            bound = float(le)
        except ValueError:
            continue
        if not math.isnan(bound):
            bounds[bound] = cumulative_count
    if not bounds:
        return None
    cumulative: list[float] = []
    finite = sorted(bound for bound in bounds if math.isfinite(bound) and bound > 0)
    for bound in finite:
        cumulative.append(max(bounds[bound], cumulative[-1] if cumulative else 0.0))
    top = cumulative[-1] if cumulative else 0.0
    total = bounds.get(math.inf, count if count is not None else top)
    return RemoteLatency(bounds_seconds=tuple(finite), cumulative_counts=tuple(cumulative),
                         count=max(total, top), sum_seconds=sum_seconds or 0.0)


def _feature_drift(rows: Mapping[str, Row]) -> tuple[FeatureDriftFigure, ...]:
    """Each feature's statistic (one model's rows by metric name), with the exporter's 0/1
    verdict, threshold and p-value for that feature when it exports them (whatever their
    `test`)."""
    drifted = {labels[0]: value for labels, value in rows.get(q.FEATURE_DRIFTED, {}).items()}
    thresholds = {labels[0]: value
                  for labels, value in rows.get(q.FEATURE_DRIFT_THRESHOLD, {}).items()}
    p_values = {labels[0]: value
                for labels, value in rows.get(q.FEATURE_DRIFT_P_VALUE, {}).items()}
    statistics = sorted((labels[0], labels[1], value)
                        for labels, value in rows.get(q.FEATURE_DRIFT, {}).items())
    return tuple(
        FeatureDriftFigure(
            feature=feature, test=test, statistic=statistic,
            drifted=drifted[feature] >= 0.5 if feature in drifted else None,
            threshold=thresholds.get(feature),
            p_value=p_values.get(feature),
        )
        for feature, test, statistic in statistics[:MAX_FEATURES]
    )


def _slos(rows: Mapping[str, Row], burn_rates: Row) -> tuple[SLOFigure, ...]:
    """One model's SLOs: its rows by metric name (by `slo`), and its burn rates by (slo,
    window)."""
    compliance = {labels[0]: value for labels, value in rows.get(q.SLO_COMPLIANCE, {}).items()}
    budget = {labels[0]: value for labels, value in rows.get(q.SLO_BUDGET, {}).items()}
    burns: dict[str, dict[str, float]] = defaultdict(dict)
    for (slo, window), rate in burn_rates.items():
        burns[slo][window] = rate
    names = sorted({*compliance, *budget, *burns})
    return tuple(SLOFigure(slo=name, compliance=compliance.get(name),
                           budget_remaining=budget.get(name), burn_rates=dict(burns[name]))
                 for name in names)


def _alerts(read: _Reader,
            samples: Sequence[InstantSample]) -> dict[str, dict[tuple[str, str], int]]:
    """Firing alerts by model name (the metric has no version: each version shows them)."""
    table: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for sample in samples:
        if read.key(sample.labels) is None or not math.isfinite(sample.value):
            continue
        if sample.value > 0:
            labels = sample.labels
            table[labels["model"]][(labels.get("rule", ""), labels.get("severity", ""))] = \
                int(sample.value)
    return table


def _instances(read: _Reader, samples: Sequence[InstantSample]) -> dict[Key, str]:
    """Each model's `instance` labels, sorted and joined, cut to `MAX_INSTANCE_CHARS`."""
    names: dict[Key, list[str]] = defaultdict(list)
    for sample in samples:
        key = read.key(sample.labels)
        if key is not None:
            names[key].append(sample.labels.get("instance", ""))
    return {key: _joined(sorted(set(found))) for key, found in names.items()}


def _joined(names: Sequence[str]) -> str:
    text = ", ".join(names)
    if len(text) <= MAX_INSTANCE_CHARS:
        return text
    kept: list[str] = []
    for name in names:
        if len(", ".join([*kept, name])) > MAX_INSTANCE_CHARS - 12:
            break
        kept.append(name)
    return ", ".join(kept) + f" (+{len(names) - len(kept)} more)"


def _series(read: _Reader, answer: Sequence[RangeSeries],
            grid: SeriesGrid) -> dict[Key, tuple[float, ...]]:
    """Each model's points on the grid, oldest first; a missing or non-finite point (no
    traffic, so no rate or quantile) reads 0, as a local model's idle second does."""
    table = {}
    for found in answer:
        key = read.key(found.labels)
        if key is None:
            continue
        values = [0.0] * grid.points
        for when, value in found.points:
            index = round((when - grid.start) / grid.step)
            if 0 <= index < grid.points and math.isfinite(value) and value >= 0:
                values[index] = value
        table[key] = tuple(values)
    return table
