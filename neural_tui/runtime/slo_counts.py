"""One model's SLO events per minute of record time, in a fixed ring sized by its SLOs.

Only a model that has an SLO keeps these counts. The ring holds `history_minutes` of the
model's longest SLO window (twice the window less a minute: the SLO window at each of its own
minute ends, for breaches), one int64 row per counted column: requests and errors always; a
latency SLO adds requests with a latency and one row per threshold any latency SLO of the model
names; an accuracy SLO adds labelled and correct predictions. That is 8 bytes x rows x
minutes: a 30-day availability SLO costs 2 x 86,399 x 8 bytes = 1.4 MB, the same with a latency
and an accuracy SLO (6 rows) 4.1 MB; the longest window the config allows (90 days) triples
that, and the config refuses SLOs that would keep more than `MAX_SLO_BYTES_PER_MODEL` (24 MiB)
for one model.

Record time is untrusted, so the ring follows the time `ModelState` admitted: a record past the
state's newest admitted second (plus its tolerance) is held aside, by second, until the state
admits that second (traffic agrees with it), and only then counted. A lone record a year ahead
thus stays aside and never moves the ring past thirty days of buckets. At most
`AHEAD_SECONDS_KEPT` seconds are held, the nearest first, as the state holds them.

A late label counts in its prediction's minute when it arrives (`add_label`), so an accuracy
SLO judged after the labels arrive gives the figures it would have given had they been
inline.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from neural_tui.decode import MAX_LATENCY_MS
from neural_tui.engines.slo import (
    MINUTE,
    MinuteCounts,
    SLOSpec,
    SLOStatus,
    evaluate_all,
    history_minutes,
)

AHEAD_SECONDS_KEPT = 1024
"""Distinct seconds held aside at most (the state holds as many)."""

REQUESTS, ERRORS = 0, 1


class SLOCounts:
    """Minute counts of one model for the SLOs given (see the module docstring)."""

    def __init__(self, specs: Sequence[SLOSpec]) -> None:
        self.specs = tuple(specs)
        self.capacity = max(history_minutes(spec.window_seconds) for spec in self.specs)
        self.thresholds = tuple(sorted({spec.threshold_ms for spec in self.specs
                                        if spec.type == "latency" and spec.threshold_ms}))
        rows = 2
        self._timed_row = rows if self.thresholds else None
        rows += 1 + len(self.thresholds) if self.thresholds else 0
        accuracy = any(spec.type == "accuracy" for spec in self.specs)
        self._labelled_row = rows if accuracy else None
        rows += 2 if accuracy else 0
        self._ring = np.zeros((rows, self.capacity), dtype=np.int64)
        self._newest: int | None = None
        """The newest minute counted; the ring holds the `capacity` minutes up to it."""
        self._first: int | None = None
        """The oldest minute ever counted (the model's first, as far as the ring knows)."""
        self._held: dict[int, np.ndarray] = {}
        """Seconds past the admitted time: their rows' sums, counted once admitted."""
        self._label_times: list[float] = []
        self._label_correct: list[bool] = []
        self.changes = 0
        """How many times rows were counted into the ring: unchanged counts at an unchanged
        record time need no new evaluation."""
        self._lock = threading.Lock()
        """Held while the ring changes or is copied: a worker thread copies it while ingest
        goes on in the event loop, which so waits at most one model's copy."""

    @property
    def nbytes(self) -> int:
        """Bytes of the ring, the part that grows with the SLO windows."""
        return int(self._ring.nbytes)

    def add_predictions(self, timestamps: np.ndarray, failed: np.ndarray,
                        latency_ms: np.ndarray, admitted_until: int) -> None:
        """Count prediction rows; those past second `admitted_until` wait for admission."""
        values = np.zeros((self._ring.shape[0], timestamps.shape[0]), dtype=bool)
        values[REQUESTS] = True
        values[ERRORS] = failed
        if self._timed_row is not None:
            observed = (latency_ms >= 0.0) & (latency_ms <= MAX_LATENCY_MS)
            values[self._timed_row] = observed
            for i, threshold in enumerate(self.thresholds):
                values[self._timed_row + 1 + i] = observed & (latency_ms <= threshold)
        self._add(np.floor(timestamps).astype(np.int64), values, admitted_until)

    def add_label(self, predicted_at: float, correct: bool) -> None:
        """A label joined its prediction (made at `predicted_at`); counted at the next
        `settle` (only an accuracy SLO counts labels)."""
        if self._labelled_row is not None:
            self._label_times.append(predicted_at)
            self._label_correct.append(correct)

    def settle(self, admitted_until: int) -> None:
        """Count the labels joined since the last call, and the held seconds now admitted."""
        if self._label_times:
            row = self._labelled_row
            assert row is not None
            times = np.array(self._label_times, dtype=np.float64)
            values = np.zeros((self._ring.shape[0], times.shape[0]), dtype=bool)
            values[row] = True
            values[row + 1] = self._label_correct
            self._label_times, self._label_correct = [], []
            self._add(np.floor(times).astype(np.int64), values, admitted_until)
        ready = [second for second in self._held if second <= admitted_until]
        if ready:
            values = np.stack([self._held.pop(second) for second in ready], axis=1)
            self._count(np.array(ready, dtype=np.int64) // MINUTE, values)

    def minute_counts(self) -> MinuteCounts:
        """The counts, oldest minute first, from the model's first minute the ring still holds
        (none before it: a throughput SLO counts minutes from there); fresh arrays, so another
        thread may evaluate them while ingest goes on (call it from that thread: a 30-day ring
        is megabytes)."""
        with self._lock:
            return self._minute_counts()

    def _minute_counts(self) -> MinuteCounts:
        if self._newest is None or self._first is None:
            empty = np.zeros(0, dtype=np.int64)
            return MinuteCounts(0, empty, empty, empty, empty)
        first = max(self._newest - self.capacity + 1, self._first)
        start, stop = first % self.capacity, self._newest % self.capacity + 1
        if start < stop:
            rows = self._ring[:, start:stop].copy()
        else:
            rows = np.concatenate((self._ring[:, start:], self._ring[:, :stop]), axis=1)
        empty = np.zeros(0, dtype=np.int64)
        timed, labelled = self._timed_row, self._labelled_row
        return MinuteCounts(
            first_minute=first,
            requests=rows[REQUESTS],
            errors=rows[ERRORS],
            labelled=rows[labelled] if labelled is not None else empty,
            correct=rows[labelled + 1] if labelled is not None else empty,
            within_ms={} if timed is None else {
                threshold: rows[timed + 1 + i] for i, threshold in enumerate(self.thresholds)},
            timed=None if timed is None else rows[timed],
        )

    def _add(self, seconds: np.ndarray, values: np.ndarray, admitted_until: int) -> None:
        admitted = seconds <= admitted_until
        if not admitted.all():
            self._hold(seconds[~admitted], values[:, ~admitted])
            seconds, values = seconds[admitted], values[:, admitted]
        if seconds.shape[0]:
            self._count(seconds // MINUTE, values)

    def _hold(self, seconds: np.ndarray, values: np.ndarray) -> None:
        distinct, inverse = np.unique(seconds, return_inverse=True)
        sums = _sums(inverse, values, distinct.shape[0])
        for index, second in enumerate(distinct[:AHEAD_SECONDS_KEPT].tolist()):
            held = self._held.get(second)
            self._held[second] = sums[:, index] if held is None else held + sums[:, index]
        if len(self._held) > AHEAD_SECONDS_KEPT:
            for second in sorted(self._held)[AHEAD_SECONDS_KEPT:]:
                del self._held[second]

    def _count(self, minutes: np.ndarray, values: np.ndarray) -> None:
        """Add rows into their minutes, moving the ring forward to the newest of them."""
        with self._lock:
            self._count_locked(minutes, values)

    def _count_locked(self, minutes: np.ndarray, values: np.ndarray) -> None:
        top = int(minutes.max())
        if self._newest is None or top > self._newest:
            self._advance(top)
        newest = self._newest
        assert newest is not None
        kept = minutes > newest - self.capacity
        if not kept.all():
            minutes, values = minutes[kept], values[:, kept]
            if minutes.shape[0] == 0:
                return
        self.changes += 1
        low = int(minutes.min())
        self._first = low if self._first is None else min(self._first, low)
        offsets = minutes - low
        span = int(offsets.max()) + 1
        self._ring[:, (low + np.arange(span)) % self.capacity] += _sums(offsets, values, span)

    def _advance(self, top: int) -> None:
        if self._newest is not None:
            gap = top - self._newest
            if gap >= self.capacity:
                self._ring[:] = 0
            else:
                self._ring[:, (self._newest + 1 + np.arange(gap)) % self.capacity] = 0
        self._newest = top


def _sums(groups: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Per row of `values` (flags of rows, or counts held aside), the sum of each group
    (0 .. size - 1)."""
    if values.dtype == bool:
        return np.stack([np.bincount(groups if row.all() else groups[row], minlength=size)
                         for row in values])
    return np.stack([np.bincount(groups, weights=row, minlength=size) for row in values]
                    ).astype(np.int64)


def record_clock(newest: Iterable[float | None], clock: float) -> float:
    """The record time every model's SLOs are judged at: the newest record time any model's
    traffic agrees with (`robust_now`), never past the runtime's clock; NaN before any record.
    One clock for all, so a model gone silent is judged at the others' time (its throughput
    SLO fails, an old version's window empties), and history read at start-up still gives the
    figures live ingest gave."""
    known = [now for now in newest if now is not None]
    return min(max(known), clock) if known else math.nan


def evaluate_models(work: Mapping[tuple[str, str], tuple[SLOCounts, float]]
                    ) -> dict[tuple[str, str], tuple[tuple[SLOStatus, ...], float]]:
    """Every SLO of each (model, version) at its record time, with the seconds it took: run in
    a worker thread, which copies each model's counts itself (`SLOCounts.minute_counts`)."""
    done = {}
    for key, (counts, now) in work.items():
        started = time.perf_counter()
        statuses = evaluate_all(counts.specs, key[0], counts.minute_counts(), now)
        done[key] = (statuses, time.perf_counter() - started)
    return done
