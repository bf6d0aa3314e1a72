"""Per-model state with a fixed memory bound, fed by columnar batches.

Everything here is sized at construction: totals are plain counters, recent activity lives in a
ring of one-second buckets, latencies for quantiles in a ring of the newest observations, and
the late-label join in bounded ordered maps. The first `reference_rows` predictions and labelled
pairs are kept apart as the drift reference of a model without a reference file. Feeding ten
million records costs time, not memory.

Counts alone would not bound bytes: a record's raw JSON objects are bounded too. Once a
batch's `prediction_proba` objects average more than `COMPACT_PROBABILITIES_BYTES` a row, each
longer one keeps only its `MAX_CLASSES_KEPT` most probable classes (and is dropped if even
that is longer), so they average at most that in the rings; an
`input_features` object longer than `MAX_FEATURES_BYTES` is not kept for the engines; both are
counted in `dropped`, and the first of each kind is said once in `notices`.

Record time is untrusted, so the per-second ring only moves forward to a second that traffic
agrees with: a second more than `AHEAD_TOLERANCE_SECONDS` past the ring's newest is held
aside until the records in the `SUPPORT_SECONDS` up to it reach `SUPPORT_SHARE` of the records
known by then (at least one): those in the ring's span up to the last record before that window,
so a batch's later records never count against its earlier ones. A lone record two hours ahead
of a 33 rps stream is thus held back and never evicts the window, a stream that resumes after a
pause is taken within seconds, and two days of a 0.1 rps model read in one batch are all taken.
A model quieter than about one record per `SUPPORT_SECONDS` cannot tell an outlier from its
next record. `last_record_at` and `robust_now()` only count admitted time, and so do the minute
counts of a model's SLOs (`neural_tui.runtime.slo_counts`).
"""

from __future__ import annotations

import json
import math
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

import numpy as np

from neural_tui.decode import MAX_LATENCY_MS, decode_objects
from neural_tui.engines.performance import json_equal
from neural_tui.engines.slo import SLOSpec
from neural_tui.records import RecordBatch
from neural_tui.runtime.label_join import AwaitingLabels
from neural_tui.runtime.minute_history import MINUTE, MinuteHistory
from neural_tui.runtime.range_sample import RangeSample
from neural_tui.runtime.slo_counts import SLOCounts
from neural_tui.runtime.snapshot import LATENCY_BUCKETS_SECONDS, LatencyHistogram

OTHER_ERROR_TYPE = "other"


MAX_CLASSES_KEPT = 10
"""Classes kept of a long `prediction_proba`: the most probable ones."""
COMPACT_PROBABILITIES_BYTES = 512
"""A `prediction_proba` longer than this is cut to its `MAX_CLASSES_KEPT` top classes, and
dropped if still longer (class names of kilobytes)."""
MAX_FEATURES_BYTES = 16 << 10
"""An `input_features` object longer than this is not kept for the engines (about 500 features
with their names); the record still counts everywhere else."""

AHEAD_TOLERANCE_SECONDS = 1
SUPPORT_SECONDS = 60
SUPPORT_SHARE = 0.001
"""See the module docstring: how far ahead the ring moves without support, and how much."""
AHEAD_SECONDS_KEPT = 1024
"""Distinct seconds held aside at most; the farthest ahead are forgotten first (still counted
in the totals)."""

DROPPED_CLASSES = "probability_classes"
DROPPED_PROBABILITIES = "probabilities_too_large"
DROPPED_FEATURES = "features_too_large"
_NOTICES = {
    DROPPED_CLASSES: f"prediction_proba with more than {MAX_CLASSES_KEPT} classes: only the "
                     f"{MAX_CLASSES_KEPT} most probable are kept",
    DROPPED_PROBABILITIES: f"prediction_proba longer than {COMPACT_PROBABILITIES_BYTES} bytes "
                           "even at its top classes: not kept",
    DROPPED_FEATURES: f"input_features longer than {MAX_FEATURES_BYTES} bytes: not kept for "
                      "drift and quality",
}


@dataclass(frozen=True, slots=True)
class StateLimits:
    """The sizes that bound one model's memory."""

    seconds: int = 3600
    latency_samples: int = 50_000
    pending_predictions: int = 200_000
    pending_probabilities: int = 50_000
    """Of the predictions awaiting a label, the newest this many keep their probabilities."""
    pending_labels: int = 50_000
    labelled_pairs: int = 20_000
    feature_rows: int = 1_000
    error_types: int = 50
    reference_rows: int = 1000
    range_rows: int = 0
    """Rows each bucket of the time-range sample keeps (`RangeSample`); 0: no range sample,
    as headless, which shows no time range, needs none."""
    latency_bounds_seconds: tuple[float, ...] = LATENCY_BUCKETS_SECONDS
    """Upper bounds of the latency histogram, which `LatencyHistogram.bounds_seconds` carries."""


@dataclass(frozen=True, slots=True)
class RecentActivity:
    """Figures over the last `window_seconds` and series of `series_step_seconds` steps,
    computed at one instant; named as the `ModelSnapshot` fields they fill."""

    throughput_rps: float
    error_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    throughput_series: tuple[float, ...]
    error_rate_series: tuple[float, ...]
    latency_p95_series: tuple[float, ...]
    latency_p50_series: tuple[float, ...]
    latency_p99_series: tuple[float, ...]
    series_step_seconds: float


@dataclass(frozen=True, slots=True)
class LabelledRows:
    """Predictions joined with their labels, in the order joined; `timestamp` is the
    prediction's time (a reference file's pairs: the record's)."""

    timestamp: np.ndarray
    prediction: np.ndarray
    ground_truth: np.ndarray
    prediction_proba: np.ndarray

    def take(self, index: np.ndarray | slice) -> LabelledRows:
        """The pairs at `index` (a mask, positions or a slice), in their order."""
        return LabelledRows(self.timestamp[index], self.prediction[index],
                            self.ground_truth[index], self.prediction_proba[index])


@dataclass(frozen=True, slots=True)
class FeatureRows:
    """Prediction rows kept for the engines: raw features, predictions, probabilities.

    Only rows that carry `input_features`: a failed request logged without them has nothing for
    the drift and quality engines to judge.
    """

    timestamp: np.ndarray
    input_features: np.ndarray
    prediction: np.ndarray
    prediction_proba: np.ndarray


class ModelState:
    """Counters, rings and the label join for one (model, version)."""

    def __init__(self, name: str, version: str, limits: StateLimits | None = None,
                 slos: tuple[SLOSpec, ...] = ()) -> None:
        self.name = name
        self.version = version
        self.limits = limits or StateLimits()
        self.predictions_total = 0
        self.errors: Counter[str] = Counter()
        self.labels_total = 0
        self.labels_joined = 0
        self.labels_correct = 0
        """Joined labels their prediction matched (`json_equal`, as accuracy judges)."""
        self.slo_counts = SLOCounts(slos) if slos else None
        """Minute counts for the model's SLOs, fed from admitted record time."""
        self.last_record_at: float | None = None
        self.first_record_at: float | None = None
        self._bounds = np.asarray(self.limits.latency_bounds_seconds, dtype=np.float64)
        self._histogram = np.zeros(len(self._bounds) + 1, dtype=np.int64)
        self._latency_sum = 0.0
        seconds = self.limits.seconds
        self._second_stamp = np.full(seconds, -1, dtype=np.int64)
        self._second_count = np.zeros(seconds, dtype=np.int64)
        self._second_errors = np.zeros(seconds, dtype=np.int64)
        self._newest_second = -1
        self._minutes = MinuteHistory()
        """The admitted seconds' requests and errors by minute, for ranges past the ring's."""
        self._ahead: dict[int, tuple[int, int]] = {}
        """Seconds past the ring's newest without support yet: (records, errors)."""
        self.dropped: Counter[str] = Counter()
        """Parts of records not kept, by kind (see the module docstring)."""
        self.notices: list[str] = []
        """One line per kind of drop, the first time; the runtime takes them for its log."""
        self._latency_time = np.full(self.limits.latency_samples, np.nan)
        self._latency_ms = np.full(self.limits.latency_samples, np.nan)
        self._latency_next = 0
        self._awaiting_label = AwaitingLabels(self.limits.pending_predictions,
                                              self.limits.pending_probabilities)
        self._early_labels: OrderedDict[str, Any] = OrderedDict()
        self._labelled: deque[tuple[float, Any, Any, Any]] = deque(
            maxlen=self.limits.labelled_pairs
        )
        self._features: deque[tuple[float, Any, Any, Any]] = deque(
            maxlen=self.limits.feature_rows
        )
        self._first_features: list[tuple[float, Any, Any, Any]] = []
        self._first_labelled: list[tuple[float, Any, Any, Any]] = []
        self.range_sample = (RangeSample(self.limits.range_rows,
                                         max_features_bytes=MAX_FEATURES_BYTES)
                             if self.limits.range_rows else None)
        """A sample of the predictions of each time range, for the console's range analysis."""

    def ingest(self, batch: RecordBatch) -> None:
        """Fold a batch of this model's rows into the state.

        Predictions go first, so that a label logged after its prediction in the same batch
        joins it at once, at the label's time.
        """
        if len(batch) == 0:
            return
        oldest = float(np.min(batch.timestamp))
        if self.first_record_at is None or oldest < self.first_record_at:
            self.first_record_at = oldest
        labels = batch.is_label
        if not labels.any():
            self._count_predictions(batch)
        else:
            predictions = batch.take(~labels)
            if len(predictions):
                self._count_predictions(predictions)
            self._join_labels(batch.take(labels))
        self._note_newest(batch.timestamp)
        if self.slo_counts is not None:
            self.slo_counts.settle(self._newest_second + AHEAD_TOLERANCE_SECONDS)

    def _note_newest(self, timestamps: np.ndarray) -> None:
        """`last_record_at` moves to the newest record the ring admitted (any record while
        there is no prediction yet to agree with)."""
        if self._newest_second >= 0:
            timestamps = timestamps[timestamps < self._newest_second + 1]
            if timestamps.shape[0] == 0:
                return
        newest = float(np.max(timestamps))
        if self.last_record_at is None or newest > self.last_record_at:
            self.last_record_at = newest

    def _count_predictions(self, batch: RecordBatch) -> None:
        n = len(batch)
        self.predictions_total += n
        failed = batch.error != None  # noqa: E711 - elementwise comparison on an object array
        if failed.any():
            self._count_errors(batch.error[failed])
        latency_ms = batch.latency_ms
        # The decoder drops such latencies already; a batch built by any other source must not
        # make the exported sum or the window's percentiles overflow for good either.
        observed = (latency_ms >= 0.0) & (latency_ms <= MAX_LATENCY_MS)
        if observed.any():
            seconds = latency_ms[observed] / 1000.0
            slots = np.searchsorted(self._bounds, seconds, side="left")
            self._histogram += np.bincount(slots, minlength=self._histogram.shape[0])
            self._latency_sum += float(seconds.sum())
            self._remember_latencies(batch.timestamp[observed], latency_ms[observed])
        self._bucket_seconds(batch.timestamp, failed)
        if self.slo_counts is not None:
            self.slo_counts.add_predictions(batch.timestamp, failed, latency_ms,
                                            self._newest_second + AHEAD_TOLERANCE_SECONDS)
        batch = self._bounded_probabilities(batch)
        self._remember_for_join(batch)
        self._remember_features(batch)

    def _bounded_probabilities(self, batch: RecordBatch) -> RecordBatch:
        """The batch with every long `prediction_proba` cut to its top classes, once they
        average more than `COMPACT_PROBABILITIES_BYTES` a row: that bounds what the rings keep
        in bytes, and the usual batch costs one C-level pass (a walk would cost more)."""
        raw = batch.prediction_proba.tolist()
        if len(b"".join(filter(None, raw))) <= COMPACT_PROBABILITIES_BYTES * len(raw):
            return batch
        long_rows = [i for i, value in enumerate(raw)
                     if value is not None and len(value) > COMPACT_PROBABILITIES_BYTES]
        column = batch.prediction_proba.copy()
        for row, decoded in zip(long_rows, decode_objects([raw[i] for i in long_rows]),
                                strict=True):
            column[row] = self._top_classes(decoded)
        return replace(batch, prediction_proba=column)

    def _top_classes(self, probabilities: Any) -> bytes | None:
        """The `MAX_CLASSES_KEPT` most probable classes as JSON, or None if still too long."""
        if not isinstance(probabilities, dict):
            self._drop(DROPPED_PROBABILITIES, 1)
            return None
        if len(probabilities) > MAX_CLASSES_KEPT:
            self._drop(DROPPED_CLASSES, len(probabilities) - MAX_CLASSES_KEPT)
        kept = json.dumps(_top(probabilities), separators=(",", ":")).encode()
        if len(kept) > COMPACT_PROBABILITIES_BYTES:
            self._drop(DROPPED_PROBABILITIES, 1)
            return None
        return kept

    def _drop(self, kind: str, count: int) -> None:
        if kind not in self.dropped:
            self.notices.append(f"model {self.name!r} version {self.version!r}: "
                                f"{_NOTICES[kind]} (counted as dropped {kind})")
        self.dropped[kind] += count

    def _count_errors(self, error_types: np.ndarray) -> None:
        for error_type, count in Counter(error_types.tolist()).items():
            known = error_type in self.errors or len(self.errors) < self.limits.error_types
            self.errors[error_type if known else OTHER_ERROR_TYPE] += count

    def _bucket_seconds(self, timestamps: np.ndarray, failed: np.ndarray) -> None:
        seconds = np.floor(timestamps).astype(np.int64)
        ahead = seconds > self._newest_second + AHEAD_TOLERANCE_SECONDS
        if ahead.any():
            self._count_seconds(seconds[~ahead], failed[~ahead])
            self._settle_ahead(seconds[ahead], failed[ahead])
            return
        self._count_seconds(seconds, failed)
        if self._ahead and min(self._ahead) <= self._newest_second + AHEAD_TOLERANCE_SECONDS:
            self._settle_ahead(seconds[:0], failed[:0])

    def _count_seconds(self, seconds: np.ndarray, failed: np.ndarray) -> None:
        """Count rows no further ahead than the ring's tolerance into their seconds."""
        if seconds.shape[0] == 0:
            return
        self._newest_second = max(self._newest_second, int(seconds.max()))
        distinct, counts, errors = _tally_seconds(seconds, failed, {})
        self._minutes.add(distinct, counts, errors)
        keep = distinct > self._newest_second - self.limits.seconds
        distinct, counts, errors = distinct[keep], counts[keep], errors[keep]
        if distinct.shape[0] == 0:
            return
        self._clear_stale_slots(distinct)
        slots = distinct % self.limits.seconds
        self._second_count[slots] += counts
        self._second_errors[slots] += errors

    def _clear_stale_slots(self, distinct: np.ndarray) -> None:
        """Slots of these seconds (each newer than the ring's span) zeroed if they held older."""
        slots = distinct % self.limits.seconds
        stale = self._second_stamp[slots] != distinct
        self._second_stamp[slots[stale]] = distinct[stale]
        self._second_count[slots[stale]] = 0
        self._second_errors[slots[stale]] = 0

    def _settle_ahead(self, seconds: np.ndarray, failed: np.ndarray) -> None:
        """Admit the held-aside seconds (and these new ones) that traffic supports.

        Support of a second is the records in the `SUPPORT_SECONDS` up to it, in the ring and
        among those held aside, against those known by then; the ring moves to the newest
        supported second, and everything up to `AHEAD_TOLERANCE_SECONDS` past it is admitted
        with it.
        """
        candidates, counts, errors = _tally_seconds(seconds, failed, self._ahead)
        ring = self._second_stamp >= 0
        order = np.argsort(self._second_stamp[ring])
        # Ring seconds are all before the candidates: together they stay in time order.
        every = np.concatenate((self._second_stamp[ring][order], candidates))
        cumulative = np.concatenate(([0], np.cumsum(np.concatenate(
            (self._second_count[ring][order], counts)))))
        upper = np.searchsorted(every, candidates, side="right")
        window = np.searchsorted(every, candidates - SUPPORT_SECONDS, side="right")
        support = cumulative[upper] - cumulative[window]
        # The records known by then: the ring's span up to the last record before the window.
        since = np.where(window > 0, every[np.maximum(window - 1, 0)] - self.limits.seconds,
                         np.iinfo(np.int64).min)
        known = cumulative[upper] - cumulative[np.searchsorted(every, since, side="right")]
        supported = support >= np.maximum(1, np.ceil(SUPPORT_SHARE * known))
        newest = self._newest_second
        if supported.any():
            newest = max(newest, int(candidates[supported].max()))
        admit = candidates <= newest + AHEAD_TOLERANCE_SECONDS
        held = np.flatnonzero(~admit)[:AHEAD_SECONDS_KEPT]
        self._ahead = {int(candidates[i]): (int(counts[i]), int(errors[i])) for i in held}
        if not admit.any():
            return
        self._newest_second = max(newest, int(candidates[admit].max()))
        self._minutes.add(candidates[admit], counts[admit], errors[admit])
        keep = admit & (candidates > self._newest_second - self.limits.seconds)
        distinct = candidates[keep]
        self._clear_stale_slots(distinct)
        slots = distinct % self.limits.seconds
        self._second_count[slots] += counts[keep]
        self._second_errors[slots] += errors[keep]

    def robust_now(self) -> float | None:
        """The newest record time most traffic agrees with: `last_record_at`, unless the newest
        admitted records are few (under `SUPPORT_SHARE` of the ring's records, at least one),
        which are then passed over; None before any record."""
        if self.last_record_at is None or self._newest_second < 0:
            return self.last_record_at
        ring = self._second_stamp >= 0
        order = np.argsort(self._second_stamp[ring])[::-1]
        newest_first = self._second_count[ring][order]
        enough = max(1, math.ceil(SUPPORT_SHARE * int(newest_first.sum())))
        reached = int(np.argmax(np.cumsum(newest_first) >= enough))
        second = int(self._second_stamp[ring][order][reached])
        return min(self.last_record_at, second + 1.0)

    def _remember_latencies(self, timestamps: np.ndarray, latency_ms: np.ndarray) -> None:
        capacity = self.limits.latency_samples
        timestamps, latency_ms = timestamps[-capacity:], latency_ms[-capacity:]
        positions = (self._latency_next + np.arange(timestamps.shape[0])) % capacity
        self._latency_time[positions] = timestamps
        self._latency_ms[positions] = latency_ms
        self._latency_next = int((self._latency_next + timestamps.shape[0]) % capacity)

    def _remember_for_join(self, batch: RecordBatch) -> None:
        labelled_inline = batch.ground_truth != None  # noqa: E711 - elementwise on objects
        self._awaiting_label.add(batch.prediction_id, batch.prediction, batch.prediction_proba,
                                 batch.timestamp)
        if labelled_inline.any():
            inline = batch.take(labelled_inline)
            self._join_labels(inline)
        if self._early_labels:
            self._join_early_labels(batch.prediction_id)

    def _join_early_labels(self, ids: np.ndarray) -> None:
        """Labels read before their predictions, joined now in prediction order.

        The ids are matched in one C-level pass; only a batch that matches is walked in order.
        """
        early = self._early_labels
        matched = early.keys() & ids.tolist()
        if not matched:
            return
        for prediction_id in dict.fromkeys(i for i in ids.tolist() if i in matched):
            self._join_one(prediction_id, early.pop(prediction_id))

    def _join_labels(self, labels: RecordBatch) -> None:
        rows = zip(labels.prediction_id.tolist(), labels.ground_truth.tolist(), strict=True)
        for prediction_id, ground_truth in rows:
            self.labels_total += 1
            if not self._join_one(prediction_id, ground_truth):
                self._early_labels[prediction_id] = ground_truth
                if len(self._early_labels) > self.limits.pending_labels:
                    self._early_labels.popitem(last=False)

    def _join_one(self, prediction_id: str, ground_truth: Any) -> bool:
        """Join a label with its prediction, if waiting; the pair keeps the prediction's time
        (a range's labelled pairs are those of its predictions, however late the label)."""
        found = self._awaiting_label.pop(prediction_id)
        if found is None:
            return False
        prediction, proba, predicted_at = found
        self.labels_joined += 1
        correct = json_equal(prediction, ground_truth)
        self.labels_correct += correct
        if self.slo_counts is not None:
            self.slo_counts.add_label(predicted_at, correct)
        pair = (predicted_at, prediction, ground_truth, proba)
        self._labelled.append(pair)
        if len(self._first_labelled) < self.limits.reference_rows:
            self._first_labelled.append(pair)
        return True

    def _remember_features(self, batch: RecordBatch) -> None:
        with_features = batch.input_features != None  # noqa: E711 - elementwise on objects
        if not with_features.all():
            batch = batch.take(with_features)
        batch = self._without_long_features(batch)
        missing = self.limits.reference_rows - len(self._first_features)
        if missing > 0:
            head = slice(0, missing)
            self._first_features.extend(zip(batch.timestamp[head].tolist(),
                                            batch.input_features[head].tolist(),
                                            batch.prediction[head].tolist(),
                                            batch.prediction_proba[head].tolist(), strict=True))
        if self.range_sample is not None and self._newest_second >= 0:
            self.range_sample.add(batch.timestamp, batch.input_features, batch.prediction,
                                  batch.prediction_proba, now=self._newest_second + 1.0)
        tail = slice(-self.limits.feature_rows, None)
        self._features.extend(zip(batch.timestamp[tail].tolist(),
                                  batch.input_features[tail].tolist(),
                                  batch.prediction[tail].tolist(),
                                  batch.prediction_proba[tail].tolist(), strict=True))

    def _without_long_features(self, batch: RecordBatch) -> RecordBatch:
        """The rows a ring may keep, without those whose `input_features` is too long.

        Only the rows the rings would keep are measured, unless one of them is too long.
        """
        missing = max(0, self.limits.reference_rows - len(self._first_features))
        raw = batch.input_features
        candidates = [*raw[:missing].tolist(), *raw[-self.limits.feature_rows:].tolist()]
        if max(map(len, candidates), default=0) <= MAX_FEATURES_BYTES:
            return batch
        lengths = np.fromiter(map(len, raw.tolist()), np.int64, raw.shape[0])
        too_long = lengths > MAX_FEATURES_BYTES
        self._drop(DROPPED_FEATURES, int(np.count_nonzero(too_long)))
        return batch.take(~too_long)

    def histogram(self) -> LatencyHistogram:
        cumulative = np.cumsum(self._histogram)
        return LatencyHistogram(
            cumulative_counts=tuple(int(c) for c in cumulative[:-1]),
            count=int(cumulative[-1]),
            sum_seconds=self._latency_sum,
            bounds_seconds=self.limits.latency_bounds_seconds,
        )

    def recent(self, now: float, window_seconds: float, series_seconds: int,
               points: int | None = None) -> RecentActivity:
        """Activity in the window ending at `now`; series end at the last complete second
        (minute, past the per-second ring's span), one point a second over `series_seconds`,
        or given `points`, at most that many spanning it, each the mean of its step. Windows
        and series longer than the per-second ring read the minute history; latencies come
        from the newest `latency_samples` whatever the window."""
        if window_seconds <= self.limits.seconds:
            window_counts, window_errors = self._per_second(
                int(np.floor(now - window_seconds)), int(np.floor(now)) + 1)
            total, failed = int(window_counts.sum()), int(window_errors.sum())
        else:
            total, failed = self._minutes.totals(now, window_seconds)
        latencies = self._latencies_between(now - window_seconds, now + 1.0)
        p50, p95, p99 = (
            (float(v) for v in np.percentile(latencies, [50, 95, 99]))
            if latencies.shape[0] else (None, None, None)
        )
        counts, errors, start, step = self._series_counts(now, series_seconds, points)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate_series = np.where(counts > 0, errors / np.maximum(counts, 1), 0.0)
        p50_series, p95_series, p99_series = self._percentile_series(start, counts.shape[0], step)
        return RecentActivity(
            throughput_rps=total / self._observed_seconds(now, window_seconds),
            error_rate=failed / total if total else 0.0,
            latency_p50_ms=p50,
            latency_p95_ms=p95,
            latency_p99_ms=p99,
            throughput_series=tuple((counts / step).tolist()),
            error_rate_series=tuple(float(r) for r in rate_series),
            latency_p95_series=p95_series,
            latency_p50_series=p50_series,
            latency_p99_series=p99_series,
            series_step_seconds=float(step),
        )

    def _series_counts(self, now: float, span: int, points: int | None
                       ) -> tuple[np.ndarray, np.ndarray, int, int]:
        """Requests and errors per step of the series over `span` seconds up to `now`, the
        first step's start and the step in seconds."""
        if points is None:
            end = int(np.floor(now))
            counts, errors = self._per_second(end - span, end)
            return counts, errors, end - span, 1
        if span <= self.limits.seconds:
            unit, end = 1, int(np.floor(now))
            per_unit = self._per_second
        else:
            unit, end = MINUTE, math.floor(now / MINUTE)
            per_unit = self._minutes.per_minute
        units = math.ceil(span / unit)
        step = math.ceil(units / points)
        steps = math.ceil(units / step)
        counts, errors = per_unit(end - steps * step, end)
        return (counts.reshape(steps, step).sum(axis=1), errors.reshape(steps, step).sum(axis=1),
                (end - steps * step) * unit, step * unit)

    def _observed_seconds(self, now: float, window_seconds: float) -> float:
        """The window, or less while the stream is younger than it: a model that started 10 s
        ago at 20 rps shows 20 rps, not a sixth of it (never less than one second)."""
        if self.first_record_at is None:
            return window_seconds
        return min(window_seconds, max(now - self.first_record_at, 1.0))

    def _per_second(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Counts and errors for each second in [start, end); zero where nothing was seen."""
        seconds = np.arange(start, end, dtype=np.int64)
        slots = seconds % self.limits.seconds
        current = self._second_stamp[slots] == seconds
        return (np.where(current, self._second_count[slots], 0),
                np.where(current, self._second_errors[slots], 0))

    def _latencies_between(self, start: float, end: float) -> np.ndarray:
        inside = (self._latency_time >= start) & (self._latency_time < end)
        return self._latency_ms[inside]

    def _percentile_series(self, start: int, steps: int, step: int
                           ) -> tuple[tuple[float, ...], ...]:
        """p50, p95 and p99 of each of `steps` steps of `step` seconds from `start`, exact from
        the kept latencies (as `numpy.percentile` computes them), 0 where a step kept none.

        The ring holds the newest `latency_samples` latencies, so a stream faster than
        `latency_samples` over the series' span has its older steps at 0."""
        inside = (self._latency_time >= start) & (self._latency_time < start + steps * step)
        indexes = np.floor((self._latency_time[inside] - start) / step).astype(np.int64)
        return percentile_series(indexes, self._latency_ms[inside], steps, SERIES_PERCENTILES)

    def labelled(self, newest: int | None = None) -> LabelledRows:
        """The kept labelled pairs, or only the `newest` of them."""
        return LabelledRows(*_columns(_newest(self._labelled, newest), 4))

    def feature_rows(self, newest: int | None = None) -> FeatureRows:
        """The kept prediction rows, or only the `newest` of them."""
        return FeatureRows(*_columns(_newest(self._features, newest), 4))

    def range_rows(self, now: float, seconds: float, size: int) -> tuple[FeatureRows, int]:
        """At most `size` prediction rows sampled uniformly from the `seconds` up to `now`,
        oldest first, and the rows of that range they stand for (none without a range
        sample)."""
        if self.range_sample is None:
            return FeatureRows(*_columns([], 4)), 0
        drawn = self.range_sample.rows(now, seconds, size)
        rows = drawn.rows
        return FeatureRows(rows.timestamp, rows.input_features, rows.prediction,
                           rows.prediction_proba), drawn.records

    def labelled_between(self, start: float, end: float) -> LabelledRows:
        """The kept labelled pairs whose prediction is in (start, end], in the order joined."""
        rows = self.labelled()
        return rows.take((rows.timestamp > start) & (rows.timestamp <= end))

    @property
    def reference_period_end(self) -> float:
        """The newest prediction time of the first `reference_rows` labelled pairs (the
        reference period of a model without a reference file); -inf before any."""
        return max((pair[0] for pair in self._first_labelled), default=-math.inf)

    @property
    def first_labelled_kept(self) -> int:
        """How many of the first `reference_rows` labelled pairs are kept so far."""
        return len(self._first_labelled)

    @property
    def first_rows_kept(self) -> int:
        """How many of the first `reference_rows` predictions are kept so far."""
        return len(self._first_features)

    def first_feature_rows(self) -> FeatureRows:
        """The first `reference_rows` predictions of the stream: the default drift reference."""
        return FeatureRows(*_columns(self._first_features, 4))

    def first_labelled(self) -> LabelledRows:
        """The first `reference_rows` labelled pairs: the reference period's performance."""
        return LabelledRows(*_columns(self._first_labelled, 4))


SERIES_PERCENTILES = (50.0, 95.0, 99.0)
"""The percentiles of `RecentActivity`'s latency series, in its field order."""


def percentile_series(
    indexes: np.ndarray, values: np.ndarray, length: int, percentiles: tuple[float, ...]
) -> tuple[tuple[float, ...], ...]:
    """Per percentile, one point per step `0..length-1` of the `values` observed in each step
    (`indexes`: the step of each value): linear interpolation between the closest ranks, as
    `numpy.percentile` does, with no loop per step or per value; 0 where a step has no value.

    The values are sorted once, then grouped by step with a stable sort of the steps as
    16-bit integers (a radix sort): five times faster than `numpy.lexsort` on a full latency
    ring, which the console's 1 h and 24 h ranges read at every snapshot."""
    empty = tuple(0.0 for _ in range(length))
    if values.shape[0] == 0:
        return tuple(empty for _ in percentiles)
    group = indexes.astype(np.int16) if length <= np.iinfo(np.int16).max else indexes
    order = np.argsort(values)
    order = order[np.argsort(group[order], kind="stable")]
    indexes, values = indexes[order], values[order]
    starts = np.searchsorted(indexes, np.arange(length + 1))
    sizes = np.diff(starts)
    occupied = np.flatnonzero(sizes)
    first, last = starts[occupied], starts[occupied] + sizes[occupied] - 1
    series = []
    for percentile in percentiles:
        # The rank within each step's values, as numpy takes it: measured from the
        # step's first value, so the fraction keeps its precision however far it lies.
        rank = (last - first) * (percentile / 100.0)
        below = np.floor(rank).astype(np.int64)
        low = values[first + below]
        high = values[np.minimum(first + below + 1, last)]
        points = np.zeros(length)
        points[occupied] = low + (high - low) * (rank - below)
        series.append(tuple(points.tolist()))
    return tuple(series)


def _top(probabilities: dict[str, Any]) -> dict[str, Any]:
    """The `MAX_CLASSES_KEPT` most probable classes, most probable first; a value that is not
    a number ranks last."""
    if len(probabilities) <= MAX_CLASSES_KEPT:
        return probabilities
    names, values = list(probabilities), list(probabilities.values())
    try:
        ranks = np.array(values, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        ranks = np.fromiter(map(_rank, values), np.float64, len(values))
    ranks[np.isnan(ranks)] = -np.inf
    top = np.argpartition(-ranks, MAX_CLASSES_KEPT)[:MAX_CLASSES_KEPT]
    top = top[np.argsort(-ranks[top], kind="stable")]
    return {names[i]: values[i] for i in top.tolist()}


def _rank(value: Any) -> float:
    """A value as a probability to rank by: a huge integer is huge, a non-number lowest."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) if isinstance(value, float) or abs(value) < 2**1023 else (
            math.inf if value > 0 else -math.inf)
    return -math.inf


def _tally_seconds(
    seconds: np.ndarray, failed: np.ndarray, held: dict[int, tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct seconds (ascending) with their records and errors, these rows and `held`.

    Rows spanning few seconds (the usual batch) are counted by `bincount`, without a sort.
    """
    if seconds.shape[0] == 0:
        distinct, counts, errors = (np.empty(0, dtype=np.int64) for _ in range(3))
    elif int(seconds.max()) - int(seconds.min()) < 4 * seconds.shape[0] + 4096:
        low = int(seconds.min())
        counts = np.bincount(seconds - low)
        errors = np.bincount(seconds[failed] - low, minlength=counts.shape[0])
        occupied = np.flatnonzero(counts)
        distinct, counts, errors = occupied + low, counts[occupied], errors[occupied]
    else:
        distinct, inverse = np.unique(seconds, return_inverse=True)
        counts = np.bincount(inverse)
        errors = np.bincount(inverse[failed], minlength=distinct.shape[0])
    if not held:
        return distinct, counts, errors
    extra = np.fromiter(held, np.int64, len(held))
    held_counts = np.fromiter((c for c, _ in held.values()), np.int64, len(held))
    held_errors = np.fromiter((e for _, e in held.values()), np.int64, len(held))
    merged, inverse = np.unique(np.concatenate([distinct, extra]), return_inverse=True)
    size = merged.shape[0]
    return (merged,
            np.bincount(inverse, np.concatenate([counts, held_counts]), size).astype(np.int64),
            np.bincount(inverse, np.concatenate([errors, held_errors]), size).astype(np.int64))


def _newest(rows: deque[tuple[Any, ...]], count: int | None) -> list[tuple[Any, ...]]:
    """The last `count` rows (all when None), oldest first, without copying the whole deque."""
    if count is None or count >= len(rows):
        return list(rows)
    newest = list(islice(reversed(rows), count))
    newest.reverse()
    return newest


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[np.ndarray]:
    """Column arrays from a list of row tuples; the first column is float time.

    `fromiter` keeps each value whole: a prediction that is a JSON array stays one object
    instead of being broadcast across the column.
    """
    if not rows:
        return [np.empty(0, dtype=np.float64)] + [np.empty(0, dtype=object)
                                                  for _ in range(width - 1)]
    columns = [np.fromiter(column, dtype=object, count=len(rows)) for column in zip(*rows,
                                                                                  strict=True)]
    columns[0] = columns[0].astype(np.float64)
    return columns
