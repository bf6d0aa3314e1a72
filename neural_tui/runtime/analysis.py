"""The engines on a schedule: drift, data quality and performance per model, off the event loop.

Each model is analysed every `[analysis] interval_seconds`, or as soon as `every_records` new
records arrived, whichever comes first, and never while its previous run is still going. While a
source reads a backlog (at start-up, a storage read from the beginning; later, a writer far
ahead), only the interval counts, from the analysis' start at the earliest: a run's window
would be history overwritten a moment later, and runs every `every_records` would take the time
the backlog needs (the first run also pays for importing scipy, about a second of CPU); the
count trigger is back as soon as the source has caught up, so the records read last get their
run at once. A storage read within one interval thus gets its first run when it is read. The
rows a run needs are copied out of `ModelState` in the event loop (cheap, bounded), then the
engines run in a worker thread, so ingest and publication never wait for them.

The reference of a model is its `[[models]] reference` file (JSONL in the storage format, read
by `runtime.reference_file`), or else the first `reference_rows` prediction rows of the stream,
as soon as that many were seen; its statistics are computed once. The current window is the
newest `window` prediction rows.

Memory: the engines see at most `[runtime] max_features` feature names per model, the first
ones met (the reference's first), each at most `MAX_VALUE_LENGTH` characters (a longer one
is replaced by its stand-in); values of any further name are left out and counted
(`ModelAnalysis.features_dropped`, one log line per model), so neither a run nor the sparkline
history nor the exported series grow with names that are unique per record.

An engine that fails on odd data logs one line (again only when its message changes) and
keeps its previous result; the other engines and the runtime carry on.

The config becomes the engines' settings in `runtime.engine_settings`; what a run's result
means (`neural_drift_score`, the one drift verdict) is defined in `runtime.verdict`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from neural_tui.config import DriftSection, Settings
from neural_tui.decode import decode_objects, short_text
from neural_tui.engines.columns import columns_from_records, number_or_nan
from neural_tui.engines.concept import ConceptDriftState, PageHinkley
from neural_tui.engines.drift import (
    DriftReport,
    ReferenceProfile,
    build_reference,
    detect,
    top_probabilities,
)
from neural_tui.engines.performance import (
    MIN_RELIABLE_LABELS,
    PerformanceReport,
    PredictionProfile,
    performance,
    prediction_anomalies,
    prediction_profile,
)
from neural_tui.engines.quality import (
    QualityReference,
    QualityReport,
    build_quality_reference,
    check,
)
from neural_tui.runtime.engine_settings import drift_settings, quality_settings
from neural_tui.runtime.reference_file import ReferenceFileError, ReferenceRows, read_reference_file
from neural_tui.runtime.state import FeatureRows, LabelledRows, ModelState, StateLimits
from neural_tui.runtime.verdict import ModelAnalysis

log = logging.getLogger(__name__)

ModelKey = tuple[str, str]
T = TypeVar("T")

HISTORY_RUNS = 60
"""Runs of per-feature drift kept for the console's sparklines."""

MAX_PROBABILITY_CLASSES = 1000
"""Classes a run's probability matrix holds at most: class names unique per record must not
make it rows x records wide."""
MAX_PROBABILITY_CELLS = 1 << 21
"""Cells of a probability matrix at most (16 MiB of float64): a window of 100,000 records keeps
its 20 most named classes."""


def performance_progress(
    state: ModelState, window: int, reference_labels: int | None
) -> tuple[str | None, int]:
    """Why the performance score must wait, if it must, and how many of the newest labelled
    pairs it may compare: those after the reference period (`reference_labels`: the reference
    file's pairs; None: the stream's first `reference_rows`)."""
    if reference_labels is None:
        needed, have = state.limits.reference_rows, state.first_labelled_kept
        after = state.labels_joined - have
        if have < needed:
            return f"performance: labels {have}/{needed} for the reference", 0
    else:
        needed, have, after = MIN_RELIABLE_LABELS, reference_labels, state.labels_joined
        if have < needed:
            return f"performance: labels {have}/{needed} in the reference file", 0
    if after < MIN_RELIABLE_LABELS:
        return (f"performance: labels {after}/{MIN_RELIABLE_LABELS} after the reference "
                "period", after)
    return None, min(after, window)


def state_limits(settings: Settings, *, ranges: bool = False) -> StateLimits:
    """Per-model bounds large enough for the configured drift window and reference; with
    `ranges`, a range sample (`range_rows`)."""
    default = StateLimits()
    window = settings.drift.window
    return StateLimits(
        feature_rows=max(default.feature_rows, window),
        labelled_pairs=max(default.labelled_pairs, window),
        reference_rows=settings.drift.reference_rows,
        range_rows=range_rows(settings) if ranges else 0,
    )


def range_rows(settings: Settings) -> int:
    """Rows each bucket of a range sample keeps: a quarter of the drift window, so that a range
    with traffic spread over its twelve buckets gets a full window's sample, and one with all
    of it in one bucket a quarter of it."""
    return max(1, settings.drift.window // 4)


@dataclass(frozen=True, slots=True)
class RangeFigures:
    """What the engines said of one time range's sample (`Analysis.analyse_range`)."""

    drift: DriftReport | None
    quality: QualityReport | None
    performance: PerformanceReport | None
    performance_compared: PerformanceReport | None
    """Of the range's labelled pairs, those after the reference period."""


@dataclass(frozen=True, slots=True)
class _Reference:
    """Reference statistics of one model, computed once."""

    description: str
    drift: ReferenceProfile
    quality: QualityReference
    predictions: PredictionProfile
    labelled: LabelledRows | None
    """The reference file's labelled pairs; None: the stream's first labelled pairs."""


@dataclass(frozen=True, slots=True)
class _Decoded:
    """Rows of a window with their JSON objects decoded into engine inputs."""

    columns: dict[str, np.ndarray]
    predictions: np.ndarray
    probabilities: np.ndarray | None
    top_probability: np.ndarray | None


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Everything one run reads from `ModelState`, copied in the event loop."""

    window: FeatureRows
    labelled: LabelledRows
    new_labelled: LabelledRows
    first_labelled: LabelledRows
    first_rows: FeatureRows | None
    first_rows_kept: int
    reference_file: Path | None
    compared: int
    """How many of the newest labelled pairs follow the reference period (see
    `performance_progress`)."""
    performance_waiting: str | None


class _ModelWork:
    """The analysis state of one model between runs."""

    def __init__(self, config: DriftSection, max_features: int) -> None:
        self.concept = PageHinkley(delta=config.concept_delta, threshold=config.concept_threshold)
        self.labels_fed = 0
        self.records_seen = 0
        self.last_run = -math.inf
        self.running = False
        self.reference: _Reference | None = None
        self.result = ModelAnalysis()
        self.history: dict[str, deque[float]] = {}
        self.failures: dict[str, str] = {}
        self.features = FeatureNames(max_features)


class FeatureNames:
    """The feature names one model's engines see: the first `limit` met, in that order."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.names: dict[str, None] = {}
        self.dropped = 0
        """Values left out so far, their name being past the limit."""
        self.said = False
        """Whether the log was told that names are left out (once per model)."""
        self._lock = threading.Lock()

    def admit(self, records: list[Any]) -> list[Any]:
        """`records` (decoded `input_features`) with only admitted names; new names are
        admitted while there is room. A name longer than `MAX_VALUE_LENGTH` is replaced by its
        stand-in (`short_text`), so that neither names nor the series keyed by them hold it.
        The lock: a range run (`known`) may read the names meanwhile."""
        with self._lock:
            return self._admit(records)

    def known(self, records: list[Any]) -> list[Any]:
        """`records` with only the names admitted so far, admitting and counting none: a range
        run must not change which names the live runs (and so the alerts) see."""
        with self._lock:
            names = dict(self.names)
        return [{key: value for key, value in ((short_text(k), v) for k, v in record.items())
                 if key in names} if isinstance(record, dict) else record
                for record in records]

    def _admit(self, records: list[Any]) -> list[Any]:
        names, kept = self.names, []
        for record in records:
            if not isinstance(record, dict) or names.keys() >= record.keys():
                kept.append(record)
                continue
            admitted: dict[str, Any] = {}
            for name, value in record.items():
                key = short_text(name)
                if key not in names and len(names) < self.limit:
                    names[key] = None
                if key in names:
                    admitted[key] = value
            self.dropped += len(record) - len(admitted)
            kept.append(admitted)
        return kept


class Analysis:
    """Runs the engines per model on the schedule and keeps each model's latest result.

    `reference` replaces every model's reference file (the CLI's `--reference`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        reference: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.drift_settings = drift_settings(settings.drift)
        self.quality_settings = quality_settings(settings.quality, settings.drift.kinds)
        self._reference_override = reference
        self._clock = clock
        self._started = clock()
        self._work: dict[ModelKey, _ModelWork] = {}
        self._files: dict[Path, ReferenceRows] = {}
        self.catching_up = False
        """Set by the runtime while a source reads a backlog: runs then follow the interval."""

    def result(self, key: ModelKey) -> ModelAnalysis | None:
        work = self._work.get(key)
        return work.result if work is not None else None

    def reference_file(self, model: str) -> Path | None:
        """The reference file of `model`: `--reference`, else its `[[models]] reference`."""
        if self._reference_override is not None:
            return self._reference_override
        configured = self.settings.model(model)
        return configured.reference if configured is not None else None

    def load_reference_file(self, path: Path) -> ReferenceRows:
        """The rows of a reference file, read once per path; raises `ReferenceFileError`."""
        rows = self._files.get(path)
        if rows is None:
            rows = self._files[path] = read_reference_file(path)
        return rows

    async def run(self, states: Mapping[ModelKey, ModelState]) -> None:
        """Start every due run, then look again after a tick; until cancelled."""
        tick = min(self.settings.runtime.cadence_seconds, self.settings.analysis.interval_seconds)
        async with asyncio.TaskGroup() as group:
            while True:
                for key, state in tuple(states.items()):
                    if self.due(key, state):
                        work = self._work_for(key)
                        work.running = True
                        group.create_task(self._run(key, work, state), name=f"analysis:{key}")
                await asyncio.sleep(tick)

    def analyse_now(self, key: ModelKey, state: ModelState) -> ModelAnalysis:
        """One run in the caller's thread, for the one-shot reports."""
        work = self._work_for(key)
        work.result = self._analyse(key, work, self._inputs(work, state))
        return work.result

    def hurry(self) -> None:
        """Make every model with new records due at the next tick (the sources just caught
        up: the results of runs over the backlog are out of date)."""
        for work in self._work.values():
            work.last_run = -math.inf

    def current(self, key: ModelKey, state: ModelState, since: float) -> bool:
        """Whether the model's result reflects its records: a run saw them all, or one that
        started at `since` (this clock) or later has finished."""
        work = self._work.get(key)
        if work is None or work.running:
            return False
        new = state.predictions_total + state.labels_total - work.records_seen
        return new == 0 or work.last_run >= since

    def now(self) -> float:
        return self._clock()

    def _work_for(self, key: ModelKey) -> _ModelWork:
        work = self._work.get(key)
        if work is None:
            work = self._work[key] = _ModelWork(self.settings.drift,
                                                self.settings.runtime.max_features)
        return work

    def due(self, key: ModelKey, state: ModelState) -> bool:
        """Whether a run of this model should start now (see the module docstring)."""
        work = self._work_for(key)
        if work.running:
            return False
        new = state.predictions_total + state.labels_total - work.records_seen
        schedule = self.settings.analysis
        if self.catching_up:
            return new > 0 and (
                self._clock() - max(work.last_run, self._started) >= schedule.interval_seconds
            )
        return new > 0 and (
            new >= schedule.every_records
            or self._clock() - work.last_run >= schedule.interval_seconds
        )

    async def _run(self, key: ModelKey, work: _ModelWork, state: ModelState) -> None:
        try:
            inputs = self._inputs(work, state)
            work.result = await asyncio.to_thread(
                self._guarded, key, work, "analysis",
                lambda: self._analyse(key, work, inputs), work.result,
            )
        finally:
            work.running = False

    def _inputs(self, work: _ModelWork, state: ModelState) -> _Inputs:
        """Copies of the rows one run needs (called in the event loop: the state is not shared
        with the worker thread)."""
        window = self.settings.drift.window
        work.last_run = self._clock()
        work.records_seen = state.predictions_total + state.labels_total
        new_labels = state.labels_joined - work.labels_fed
        work.labels_fed = state.labels_joined
        reference_file = self.reference_file(state.name)
        performance_waiting, compared = performance_progress(
            state, window, self._file_labels(reference_file))
        stream_reference_ready = (
            work.reference is None
            and reference_file is None
            and state.first_rows_kept >= state.limits.reference_rows
        )
        return _Inputs(
            window=state.feature_rows(window),
            labelled=state.labelled(window),
            new_labelled=state.labelled(new_labels),
            first_labelled=state.first_labelled(),
            first_rows=state.first_feature_rows() if stream_reference_ready else None,
            first_rows_kept=state.first_rows_kept,
            reference_file=reference_file,
            compared=compared,
            performance_waiting=performance_waiting,
        )

    def analyse_range(self, key: ModelKey, rows: FeatureRows, labelled: LabelledRows,
                      compared_after: float) -> RangeFigures | None:
        """Drift, quality and performance of rows sampled from a time range, against the
        model's reference; None while it has none. The performance drop compares the range's
        labelled pairs predicted after `compared_after` (the reference period). For the screen only:
        nothing of the model's live analysis (its result, sparklines, concept detector, feature
        names) changes. Runs in a thread."""
        work = self._work.get(key)
        reference = work.reference if work is not None else None
        if work is None or reference is None:
            return None
        window = self._guarded(key, work, "decode (range)",
                               lambda: _decode(rows, work.features.known), None)
        current = self._guarded(key, work, "performance (range)",
                                lambda: _performance(labelled, reference, window), None)
        after = labelled.timestamp > compared_after
        compared = labelled.take(after)
        performance_compared = current if after.all() else self._guarded(
            key, work, "compared performance (range)",
            lambda: _performance(compared, None, None), None)
        if window is None or not len(rows.timestamp):
            return RangeFigures(None, None, current, performance_compared)
        drift, quality = self._judge(key, work, reference, window, work.result.concept,
                                     (None, None), " (range)")
        return RangeFigures(drift, quality, current, performance_compared)

    def _judge(
        self, key: ModelKey, work: _ModelWork, reference: _Reference, window: _Decoded,
        concept: ConceptDriftState | None,
        previous: tuple[DriftReport | None, QualityReport | None], run: str,
    ) -> tuple[DriftReport | None, QualityReport | None]:
        """Drift and quality of a decoded window against the reference; an engine that fails
        gives its `previous` report (`run` names the run in the log: live or range)."""
        drift = self._guarded(key, work, f"drift{run}", lambda: detect(
            reference.drift, window.columns, self.drift_settings,
            predictions=window.predictions, top_probability=window.top_probability,
            concept=concept,
        ), previous[0])
        quality = self._guarded(key, work, f"quality{run}", lambda: check(
            reference.quality, window.columns, self.quality_settings,
        ), previous[1])
        return drift, quality

    def _file_labels(self, path: Path | None) -> int | None:
        """The labelled pairs of a reference file read already (0 until it is read)."""
        if path is None:
            return None
        rows = self._files.get(path)
        return len(rows.labelled.timestamp) if rows is not None else 0

    def waiting(self, key: ModelKey, state: ModelState) -> tuple[str | None, str | None]:
        """Why drift and performance have no result yet, from the state now: the progress of
        a stream reference moves with every record, not only at the model's runs."""
        work = self._work.get(key)
        reference_file = self.reference_file(state.name)
        filling = self.reference_filling(key, state)
        if filling is not None:
            reference: str | None = f"reference {filling[0]}/{filling[1]} records"
        else:
            reference = work.result.waiting if work is not None else None
        performance, _ = performance_progress(state, self.settings.drift.window,
                                              self._file_labels(reference_file))
        return reference, performance

    def reference_filling(self, key: ModelKey, state: ModelState) -> tuple[int, int] | None:
        """(records kept, records needed) while the model's first records still fill its
        reference (no reference file); None once it is built or comes from a file."""
        work = self._work.get(key)
        needed = state.limits.reference_rows
        if (work is None or work.reference is None) and self.reference_file(state.name) is None \
                and state.first_rows_kept < needed:
            return state.first_rows_kept, needed
        return None

    def _analyse(self, key: ModelKey, work: _ModelWork, inputs: _Inputs) -> ModelAnalysis:
        """Every engine on one model's inputs; runs in a worker thread (or the CLI's)."""
        previous = work.result
        waiting = self._ensure_reference(key, work, inputs)
        reference = work.reference
        window = self._guarded(key, work, "decode",
                               lambda: _decode(inputs.window, work.features), None)
        current = self._guarded(key, work, "performance", lambda: _performance(
            inputs.labelled, reference, window,
        ), previous.performance)
        concept = self._guarded(key, work, "concept", lambda: _feed_concept(
            work.concept, inputs.new_labelled, current,
        ), previous.concept)
        drift, quality = previous.drift, previous.quality
        if reference is not None and window is not None and len(inputs.window.timestamp):
            drift, quality = self._judge(key, work, reference, window, concept,
                                         (previous.drift, previous.quality), "")
            if drift is not previous.drift and drift is not None:
                _remember_history(work.history, drift)
        reference_labelled = (
            reference.labelled if reference is not None and reference.labelled is not None
            else inputs.first_labelled
        )
        reference_performance = self._guarded(
            key, work, "reference performance",
            lambda: _performance(reference_labelled, None, None),
            previous.reference_performance,
        )
        compared = _newest_labelled(inputs.labelled, inputs.compared)
        performance_compared = (
            None if inputs.performance_waiting is not None
            else current if len(compared.timestamp) == len(inputs.labelled.timestamp)
            else self._guarded(key, work, "compared performance",
                               lambda: _performance(compared, None, None),
                               previous.performance_compared)
        )
        if work.features.dropped and not work.features.said:
            work.features.said = True
            log.warning("model %s version %s: more than %d feature names ([runtime] "
                        "max_features): values of the others are left out and counted",
                        key[0], key[1], work.features.limit)
        return ModelAnalysis(
            drift=drift,
            quality=quality,
            performance=current,
            reference_performance=reference_performance,
            concept=concept,
            reference=reference.description if reference is not None else None,
            waiting=waiting,
            feature_drift_history={name: tuple(points) for name, points in work.history.items()},
            performance_compared=performance_compared,
            performance_waiting=inputs.performance_waiting,
            features_dropped=work.features.dropped,
        )

    def _ensure_reference(self, key: ModelKey, work: _ModelWork, inputs: _Inputs) -> str | None:
        """Build the reference if it is due; returns why there is none yet, if so."""
        if work.reference is not None:
            return None
        if inputs.reference_file is not None:
            try:
                rows = self.load_reference_file(inputs.reference_file)
            except ReferenceFileError as exc:
                self._failed(key, work, "reference", str(exc))
                return str(exc)
        elif inputs.first_rows is not None:
            count = len(inputs.first_rows.timestamp)
            rows = ReferenceRows(f"first {count} records", inputs.first_rows, inputs.first_labelled)
        else:
            needed = self.settings.drift.reference_rows
            return f"reference {inputs.first_rows_kept}/{needed} records"
        file_labelled = rows.labelled if inputs.reference_file is not None else None
        work.reference = self._guarded(
            key, work, "reference",
            lambda: self._build_reference(rows, file_labelled, work.features), None,
        )
        return None if work.reference is not None else "the reference could not be built"

    def _guarded(
        self, key: ModelKey, work: _ModelWork, engine: str, run: Callable[[], T], previous: T
    ) -> T:
        """`run()`, or `previous` if it raised: odd data must not stop the other engines."""
        try:
            result = run()
        except Exception as exc:
            self._failed(key, work, engine, f"{type(exc).__name__}: {exc}")
            return previous
        work.failures.pop(engine, None)
        return result

    def _build_reference(
        self, rows: ReferenceRows, file_labelled: LabelledRows | None, names: FeatureNames
    ) -> _Reference:
        decoded = _decode(rows.features, names)
        return _Reference(
            description=rows.description,
            drift=build_reference(
                decoded.columns, self.drift_settings,
                predictions=decoded.predictions, top_probability=decoded.top_probability,
            ),
            quality=build_quality_reference(decoded.columns, self.quality_settings),
            predictions=prediction_profile(decoded.predictions, decoded.probabilities),
            labelled=file_labelled,
        )

    @staticmethod
    def _failed(key: ModelKey, work: _ModelWork, engine: str, message: str) -> None:
        line = " ".join(message.split())
        if work.failures.get(engine) != line:
            work.failures[engine] = line
            log.warning("model %s version %s: %s failed, previous result kept: %s",
                        key[0], key[1], engine, line)


def _decode_objects(raw: np.ndarray) -> list[Any]:
    """Raw JSON objects (`bytes`, or None) of a window, decoded."""
    return decode_objects(raw.tolist())


def _probability_matrix(
    probabilities: list[Any],
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """One column per class named in a `prediction_proba`, NaN where a row has no number for
    it: the classes named in the most rows, at most `MAX_PROBABILITY_CLASSES` and at most
    `MAX_PROBABILITY_CELLS` cells in all, so a wide window of records whose class names vary
    costs bounded memory; filled one named value at a time, never cell by cell."""
    rows = [row if isinstance(row, dict) else {} for row in probabilities]
    named = Counter(name for row in rows for name in row)
    if not named:
        return None, ()
    most = max(1, min(MAX_PROBABILITY_CLASSES, MAX_PROBABILITY_CELLS // max(len(rows), 1)))
    classes = sorted(name for name, _ in named.most_common(most))
    column = {name: index for index, name in enumerate(classes)}
    matrix = np.full((len(rows), len(classes)), np.nan)
    for index, row in enumerate(rows):
        for name, value in row.items():
            at = column.get(name)
            if at is not None:
                matrix[index, at] = number_or_nan(value)
    return matrix, tuple(classes)


def _decode(rows: FeatureRows, names: FeatureNames | Callable[[list[Any]], list[Any]]
            ) -> _Decoded:
    """The rows' engine inputs, their feature names through `names` (a model's `FeatureNames`,
    which admits new ones, or a function that only filters)."""
    select = names.admit if isinstance(names, FeatureNames) else names
    features = select(_decode_objects(rows.input_features))
    probabilities = _decode_objects(rows.prediction_proba)
    matrix, _ = _probability_matrix(probabilities)
    top = None
    if matrix is not None:
        holder = np.empty(len(probabilities), dtype=object)
        holder[:] = probabilities
        top = top_probabilities(holder)
    return _Decoded(
        columns=columns_from_records(features),
        predictions=rows.prediction,
        probabilities=matrix,
        top_probability=top,
    )


def _performance(
    labelled: LabelledRows, reference: _Reference | None, window: _Decoded | None
) -> PerformanceReport:
    """Performance of labelled pairs; with prediction anomalies of the window when given."""
    matrix, classes = _probability_matrix(_decode_objects(labelled.prediction_proba))
    report = performance(
        labelled.prediction, labelled.ground_truth, matrix,
        probability_classes=classes or None,
    )
    if reference is None or window is None or report.task != "classification":
        return report
    anomalies = prediction_anomalies(reference.predictions, window.predictions,
                                     window.probabilities)
    return replace(report, anomalies=anomalies)


def _newest_labelled(rows: LabelledRows, count: int) -> LabelledRows:
    """The newest `count` of `rows`."""
    return rows.take(slice(max(0, len(rows.timestamp) - count), None))


def _feed_concept(
    detector: PageHinkley, labelled: LabelledRows, current: PerformanceReport | None
) -> ConceptDriftState | None:
    """Feed the pairs joined since the last run as 0/1 errors (classification only)."""
    if len(labelled.prediction) and current is not None and current.task == "classification":
        detector.update(_wrong(labelled.prediction, labelled.ground_truth).astype(np.float64))
    return detector.state if detector.state.samples else None


def _is_wrong(prediction: Any, label: Any) -> float:
    """1.0 if JSON would call the two values different, 0.0 if equal, NaN if one is missing."""
    if _missing(prediction) or _missing(label):
        return math.nan
    if isinstance(prediction, bool) != isinstance(label, bool):
        return 1.0
    return float(prediction != label)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


_wrong = np.frompyfunc(_is_wrong, 2, 1)


def _remember_history(history: dict[str, deque[float]], report: DriftReport) -> None:
    for feature in report.features:
        if feature.statistic is not None and math.isfinite(feature.statistic):
            points = history.get(feature.name)
            if points is None:
                points = history[feature.name] = deque(maxlen=HISTORY_RUNS)
            points.append(feature.statistic)
