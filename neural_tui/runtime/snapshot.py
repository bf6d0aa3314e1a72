"""Immutable snapshots: the only thing the console, the exporter and the alerts ever read.

The runtime builds a new `Snapshot` on a fixed cadence and publishes it; nobody mutates one, so
readers in other threads (the exporter's HTTP server) can hold a reference without locks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from neural_tui.config import (
    DEFAULT_LATENCY_BUCKETS_MS,
    MAX_LATENCY_BUCKETS,
    MAX_SLO_THRESHOLDS,
)

if TYPE_CHECKING:
    from neural_tui.engines.drift import DriftReport
    from neural_tui.engines.performance import PerformanceReport
    from neural_tui.engines.quality import QualityReport
    from neural_tui.engines.slo import SLOStatus
    from neural_tui.remote_models import RemoteFigures, TargetStatus

LATENCY_BUCKETS_SECONDS: tuple[float, ...] = tuple(
    ms / 1000.0 for ms in DEFAULT_LATENCY_BUCKETS_MS)
"""The default upper bounds of `neural_prediction_latency_seconds`: from 0.1 ms, then
prometheus-client's defaults (5 ms to 10 s)."""

MAX_LATENCY_BOUNDS = MAX_LATENCY_BUCKETS + MAX_SLO_THRESHOLDS
"""Most bucket bounds of the latency histogram: the configured buckets and every distinct
latency SLO threshold a valid config can hold, so each threshold is a bound. Each bound costs
one series per model in Prometheus."""

SERIES_POINTS = 120
"""Most points of a series over a time range the console chose, whatever its length."""


def latency_bounds_seconds(
    thresholds_ms: Iterable[float],
    buckets_ms: Iterable[float] = DEFAULT_LATENCY_BUCKETS_MS,
) -> tuple[float, ...]:
    """The histogram's bounds: the buckets (`[exporter] latency_buckets_ms`) plus each latency
    SLO's threshold, in seconds.

    A latency SLO is computed in Prometheus from the bucket whose bound is its threshold, so
    every threshold must be one. Milliseconds become seconds as the state converts each
    latency (`ms / 1000`), so a latency equal to a bound counts within it. Sorted and without
    duplicates; a value that is not a positive finite number is skipped; of the buckets at most
    `MAX_LATENCY_BUCKETS` are kept (the first), and past `MAX_LATENCY_BOUNDS` in all the later
    thresholds (in the order given) are left out. A valid config never reaches either cap.
    """
    bounds: set[float] = set()
    for values, cap in ((buckets_ms, MAX_LATENCY_BUCKETS), (thresholds_ms, MAX_LATENCY_BOUNDS)):
        for value in values:
            seconds = value / 1000.0
            if len(bounds) >= cap:
                break
            if math.isfinite(seconds) and seconds > 0:
                bounds.add(seconds)
    return tuple(sorted(bounds))


@dataclass(frozen=True, slots=True)
class LatencyHistogram:
    """Cumulative latency histogram since the start of storage, in Prometheus' shape.

    `cumulative_counts[i]` counts latencies <= `bounds_seconds[i]`; `count` is the +Inf bucket.
    Records without a latency are not observed.
    """

    cumulative_counts: tuple[int, ...]
    count: int
    sum_seconds: float
    bounds_seconds: tuple[float, ...] = LATENCY_BUCKETS_SECONDS


@dataclass(frozen=True, slots=True)
class EngineRange:
    """The time range the engines' figures of a shown snapshot cover, and what they judged."""

    seconds: float
    records: int
    """Prediction rows of the range (an estimate where the range starts inside a bucket)."""
    judged: int
    """Of them, the uniform sample drift and quality judged (at most `[drift] window`)."""
    labelled: int
    """Labelled pairs of the range the performance figures judged."""


@dataclass(frozen=True, slots=True)
class ModelSnapshot:
    """One model's state at one instant.

    Totals count since the start of storage (equal to the valid records on disk);
    `errors_total` counts failed requests by error type. The rates and percentiles
    (`throughput_rps`, `error_rate`, `latency_p*_ms`) cover the last `window_seconds` of record
    time ending at the snapshot's time; the `*_series` tuples hold one point per
    `series_step_seconds`, oldest first: per second over the last `[runtime] series_seconds`,
    or `SERIES_POINTS` at most spanning the console's time range (`Snapshot.time_range_seconds`).
    """

    name: str
    version: str
    predictions_total: int
    errors_total: dict[str, int]
    latency: LatencyHistogram
    labels_total: int
    labels_joined: int
    last_record_at: float | None
    window_seconds: float
    throughput_rps: float
    error_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    throughput_series: tuple[float, ...]
    error_rate_series: tuple[float, ...]
    latency_p95_series: tuple[float, ...]
    drift: DriftReport | None = None
    quality: QualityReport | None = None
    performance: PerformanceReport | None = None
    feature_drift_history: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    """Per feature, the deciding drift statistic of each past engine run, oldest first."""
    drift_scores: Mapping[str, float] = field(default_factory=dict)
    """`neural_drift_score` by `drift_type` (distribution, prediction, concept, performance),
    only the kinds the engines could compute."""

    analysis_waiting: str | None = None
    """Why the engines have no result yet (e.g. still collecting the reference), else None."""
    performance_waiting: str | None = None
    """Why there is no performance score yet, with the labels so far, else None."""
    reference_filling: tuple[int, int] | None = None
    """(records kept, records needed) while the model's first records fill its reference,
    else None: drift waits for it to be full."""
    engine_range: EngineRange | None = None
    """What `drift`, `quality` and `performance` judged when they cover the console's time
    range (`runtime.range_analysis`); None: the model's newest `[drift] window` records, as the
    alert rules, the exporter and the reports always see them."""
    drifted: bool | None = None
    """The model's one drift verdict (`neural_tui.runtime.verdict` defines it); None: none
    yet."""
    drift_kinds: tuple[str, ...] = ()
    """The kinds of drift that fired: distribution, prediction, concept, performance."""
    dropped: Mapping[str, int] = field(default_factory=dict)
    """Parts of records not kept to bound memory, by kind (see `neural_tui.runtime.state`),
    and `feature_names`: values of names past `[runtime] max_features`."""

    labels_correct: int = 0
    """Of `labels_joined`, the predictions that matched their label (as the accuracy SLO
    judges a match), since the start of storage."""
    slos: tuple[SLOStatus, ...] = ()
    """The model's SLOs (those naming it and those for every model), in config order."""
    source: str = ""
    """Where the model is read: empty for local storage, else the remote source's label
    (`target NAME`, `prometheus`)."""
    remote: RemoteFigures | None = None
    """A remote model's exported figures (it has no records, so no engine reports); None for
    a local model."""
    instance: str = ""
    """Which endpoint of a remote source reported the model (`RemoteModel.instance`); empty
    for a local model."""
    latency_p50_series: tuple[float, ...] = ()
    latency_p99_series: tuple[float, ...] = ()
    """With `latency_p95_series`, the latency percentiles of each `series_step_seconds`, in ms
    (0 where a step had none); empty for a remote model, whose exporter publishes only the
    p95."""
    series_step_seconds: float = 1.0
    """The record time each point of the `*_series` covers (a throughput point is the mean
    rate over it)."""

    @property
    def errors_count(self) -> int:
        return sum(self.errors_total.values())

    def status_figures(self) -> dict[str, Any]:
        """The model's totals, rates and percentiles under the names of `neural-tui status
        --json` (which the console's export uses too)."""
        return {
            "name": self.name,
            "version": self.version,
            "predictions_total": self.predictions_total,
            "errors_total": dict(self.errors_total),
            "labels_total": self.labels_total,
            "labels_joined": self.labels_joined,
            "last_record_at": self.last_record_at,
            "window_seconds": self.window_seconds,
            "throughput_rps": self.throughput_rps,
            "error_rate": self.error_rate,
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "latency_p99_ms": self.latency_p99_ms,
        }

    @property
    def uid(self) -> str:
        """The model's key in the console: its name locally, `name @ source` when remote, so
        a fleet may hold one name on several hosts."""
        return self.name if not self.source else f"{self.name} @ {self.source}"


@dataclass(frozen=True, slots=True)
class IngestStats:
    """What the sources read: valid records, and the lines they could not take as written.

    `line_problems` counts by reason (the `reason` label of `neural_ingest_errors_total`, whose
    name is a contract): most reasons are lines skipped (`not_json`, `not_a_record`,
    `too_long`, `read_error`, and `too_many_models` for records of models past the limit), but
    `invalid_latency` and `long_value` count records kept with a value dropped or replaced
    (`kept_reasons`, which the runtime fills from the decoder's). So it is not named
    "skipped"; `skipped_lines` and `kept_lines` split it. `last_messages` are the runtime's
    latest notices: skipped lines, models refused, and sources or the analysis restarting
    after a crash.
    """

    records_total: int
    line_problems: dict[str, int]
    last_messages: tuple[str, ...] = ()
    kept_reasons: frozenset[str] = frozenset()
    skipped_recently: int = 0
    """Lines skipped in the last `[runtime] window_seconds` since the start-up read (history
    read at start is not counted): what an alert on ingest errors can see resolve."""

    @property
    def skipped_lines(self) -> dict[str, int]:
        """The line problems that cost their line, by reason."""
        return {r: n for r, n in self.line_problems.items() if r not in self.kept_reasons}

    @property
    def kept_lines(self) -> dict[str, int]:
        """The line problems whose record was kept with a value dropped or replaced."""
        return {r: n for r, n in self.line_problems.items() if r in self.kept_reasons}


SourceStatus = Literal["ok", "failing", "stuck"]


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """Whether a source is reading: `failing` (its task keeps raising; `detail` is the last
    error) or `stuck` (no completed pass for too long), else `ok`."""

    label: str
    status: SourceStatus
    detail: str


@dataclass(frozen=True, slots=True)
class HistoryProgress:
    """How far the sources have read the history on disk at start (while catching up).

    `bytes_total` is what the files held at the first scan; `bytes_read` may pass it (files
    grow, or are read again when rewritten), so `fraction` is capped at 1. Rates are averages
    since the start, which a progress bar needs steady rather than instant.
    """

    bytes_read: int
    bytes_total: int
    records_read: int
    records_per_second: float
    seconds_left: float | None
    """None until a rate is known."""
    analysing: bool = False
    """Every byte was read: the engines' first runs over the history are what is left."""

    @property
    def fraction(self) -> float:
        """Share of the history read, 0 to 1 (1 for an empty history)."""
        if self.bytes_total <= 0:
            return 1.0
        return min(1.0, self.bytes_read / self.bytes_total)

    def bar(self, cells: int) -> str:
        """`[####------]`: `fraction` of `cells` filled, in ASCII so any terminal draws it."""
        filled = round(self.fraction * cells)
        return "[" + "#" * filled + "-" * (cells - filled) + "]"

    def describe(self) -> str:
        """`41 % (412,000 records, 180,000/s, ~3 s left)`: what the logs and bars say; once
        read, `100 % (1,000,000 records, 180,000/s; analysing)`."""
        left = ("; analysing" if self.analysing else "" if self.seconds_left is None
                else f", ~{math.ceil(self.seconds_left):,} s left")
        return (f"{math.floor(self.fraction * 100)} % ({self.records_read:,} records, "
                f"{self.records_per_second:,.0f}/s{left})")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything known at `generated_at` (unix seconds): the local models sorted by name,
    then each remote source's models, by source label and name."""

    generated_at: float
    models: tuple[ModelSnapshot, ...]
    ingest: IngestStats
    paused: bool = False
    sources: tuple[str, ...] = field(default_factory=tuple)
    source_health: tuple[SourceHealth, ...] = ()
    catching_up: bool = False
    """True while the sources still read what was on disk at start, or the engines' results
    still describe that history: figures are history, not the live state (alert rules wait
    for it to turn False). Only at start-up: once False it stays False."""
    history: HistoryProgress | None = None
    """How far the history read has come, while `catching_up` (None otherwise, and for
    sources that cannot say)."""
    targets: tuple[TargetStatus, ...] = ()
    """Every polled remote endpoint, up or down, in source order, with the exporters a
    source reports on another scraper's word (`TargetStatus.scraped_by`: Prometheus')."""
    time_range_seconds: float = 60.0
    """The range the local models' figures and series cover: `[runtime] window_seconds` (60
    by default), or the one the console chose (`SnapshotFeed.set_time_range`). Remote models
    keep their source's window (`ModelSnapshot.window_seconds`)."""
    engine_window_records: int = 0
    """The records the drift and quality engines judge at most per model (`[drift] window`):
    the newest ones in the live analysis (what alerts read), a sample of the time range in a
    console's range analysis. 0: unknown (no runtime built the snapshot)."""
    engine_ranges: bool = False
    """Whether the engines also judge the chosen time range (a console's runtime, `ranges`):
    its models' `engine_range` then says what they judged."""

    def model(self, uid: str) -> ModelSnapshot | None:
        """The model whose `uid` is `uid` (a local model's is its name)."""
        return next((m for m in self.models if m.uid == uid), None)

    @property
    def local_models(self) -> tuple[ModelSnapshot, ...]:
        """The models read from local storage: what the exporter and the alert rules see."""
        return tuple(m for m in self.models if not m.source)

    @staticmethod
    def empty(generated_at: float = 0.0) -> Snapshot:
        return Snapshot(generated_at=generated_at, models=(), ingest=IngestStats(0, {}))
