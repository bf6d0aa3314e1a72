"""One model's requests and errors per minute over the last day: what the console's 24 h time
range reads, past the per-second ring's hour.

A fixed ring of `DAY_MINUTES + 1` minutes (the day and the minute in progress), three int64
arrays: 34.6 kB per model whatever the traffic. It is fed the per-second tallies the state
admits (`ModelState` holds seconds too far ahead aside, so a record a year ahead never moves
it), a batch at a time with no Python loop per record; a minute older than the ring's span is
dropped.

`SLOCounts` (`neural_tui.runtime.slo_counts`) also counts requests and errors by minute, but
only for a model with an SLO, over that SLO's window, and beside its latency and accuracy
rows: every model needs its last day here, SLOs or not, so this ring is the model's own.
"""

from __future__ import annotations

import math

import numpy as np

MINUTE = 60
DAY_MINUTES = 24 * 60


class MinuteHistory:
    """Requests and errors per minute of admitted record time, the newest `capacity` minutes."""

    def __init__(self, capacity: int = DAY_MINUTES + 1) -> None:
        self.capacity = capacity
        self._stamp = np.full(capacity, -1, dtype=np.int64)
        self._count = np.zeros(capacity, dtype=np.int64)
        self._errors = np.zeros(capacity, dtype=np.int64)
        self._newest = -1

    @property
    def nbytes(self) -> int:
        return int(self._stamp.nbytes + self._count.nbytes + self._errors.nbytes)

    def add(self, seconds: np.ndarray, counts: np.ndarray, errors: np.ndarray) -> None:
        """Fold tallies of distinct seconds (requests and errors each) into their minutes."""
        if seconds.shape[0] == 0:
            return
        minutes = seconds // MINUTE
        self._newest = max(self._newest, int(minutes.max()))
        kept = minutes > self._newest - self.capacity
        minutes, counts, errors = minutes[kept], counts[kept], errors[kept]
        if minutes.shape[0] == 0:
            return
        # Every minute from the oldest given on is within the ring's span: each has its own
        # slot, so the whole span is summed by `bincount`, without a sort.
        low = int(minutes.min())
        offsets = minutes - low
        span = int(offsets.max()) + 1
        every = low + np.arange(span, dtype=np.int64)
        slots = every % self.capacity
        stale = self._stamp[slots] != every
        self._stamp[slots[stale]] = every[stale]
        self._count[slots[stale]] = 0
        self._errors[slots[stale]] = 0
        self._count[slots] += np.bincount(offsets, counts, span).astype(np.int64)
        self._errors[slots] += np.bincount(offsets, errors, span).astype(np.int64)

    def per_minute(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Requests and errors of each minute in [start, end); zero where none is known."""
        minutes = np.arange(start, end, dtype=np.int64)
        slots = minutes % self.capacity
        current = self._stamp[slots] == minutes
        return (np.where(current, self._count[slots], 0),
                np.where(current, self._errors[slots], 0))

    def totals(self, now: float, seconds: float) -> tuple[int, int]:
        """Requests and errors in the minutes that start within the `seconds` up to `now`
        (the minute in progress included)."""
        start = math.ceil((now - seconds) / MINUTE)
        counts, errors = self.per_minute(start, math.floor(now / MINUTE) + 1)
        return int(counts.sum()), int(errors.sum())
