"""Predictions waiting for a late label, found by `prediction_id` in bounded memory.

Ids map to a sequence number in generations of plain dicts, each taking about an eighth of the
capacity in predictions: the oldest is dropped whole once every id in it is older than the
newest `capacity` predictions, so eviction costs nothing per record and about ten generations
live at most, however late or few the labels. Small dicts stay cheap to fill (one big dict
costs about twice as much per insert, in resizes and cache misses). Predictions, their record
times (a late label counts against its prediction's time) and probabilities sit in ring arrays
indexed by that number. A sequence number older than the ring is stale: its prediction was
overwritten, so the label finds nothing, as if evicted. The rings grow to their full size only as
predictions arrive, so a quiet model costs little. Probabilities, the bulky part, are kept only
for the newest `probabilities_capacity` predictions (their own, smaller ring): an older one
finds its label with its prediction alone.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

_GENERATIONS = 8
"""Generations that hold `capacity` ids: a missing id costs that many dict probes."""

_FIRST_RING_SIZE = 1024


class AwaitingLabels:
    """At least the newest `capacity` predictions, at most twice that, by prediction id."""

    def __init__(self, capacity: int, probabilities_capacity: int | None = None) -> None:
        self.capacity = capacity
        self._generation_size = max(1, capacity // _GENERATIONS)
        self._generations: deque[dict[str, int]] = deque([{}])
        self._starts: deque[int] = deque([0])
        """The first sequence number of each generation, oldest first."""
        self._ring = 2 * capacity
        self._predictions = np.empty(min(self._ring, _FIRST_RING_SIZE), dtype=object)
        self._times = np.empty(min(self._ring, _FIRST_RING_SIZE), dtype=np.float64)
        self._probability_ring = min(self._ring, probabilities_capacity or self._ring)
        self._probabilities = np.empty(min(self._probability_ring, _FIRST_RING_SIZE),
                                       dtype=object)
        self._next = 0

    def __len__(self) -> int:
        return sum(map(len, self._generations))

    def __contains__(self, prediction_id: object) -> bool:
        return any(prediction_id in generation for generation in self._generations)

    def add(self, ids: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray,
            times: np.ndarray) -> None:
        """Remember rows (arrays of equal length; `times` their record times); only the newest
        `capacity` count."""
        ids, predictions = ids[-self.capacity:], predictions[-self.capacity:]
        probabilities, times = probabilities[-self.capacity:], times[-self.capacity:]
        n = ids.shape[0]
        self._predictions = _grown(self._predictions, self._ring, self._next + n)
        self._times = _grown(self._times, self._ring, self._next + n)
        self._probabilities = _grown(self._probabilities, self._probability_ring, self._next + n)
        sequence = self._next + np.arange(n)
        self._predictions[sequence % self._ring] = predictions
        self._times[sequence % self._ring] = times
        newest = slice(-self._probability_ring, None)
        self._probabilities[sequence[newest] % self._probability_ring] = probabilities[newest]
        generations, starts = self._generations, self._starts
        if self._next - starts[-1] >= self._generation_size:
            generations.append({})
            starts.append(self._next)
        generations[-1].update(zip(ids.tolist(), range(self._next, self._next + n), strict=True))
        self._next += n
        while len(starts) > 1 and starts[1] <= self._next - self.capacity:
            generations.popleft()
            starts.popleft()

    def pop(self, prediction_id: str) -> tuple[Any, Any, float] | None:
        """The (prediction, probabilities, record time) of that id, forgotten once found; None
        if unknown."""
        sequence = None
        for generation in reversed(self._generations):
            sequence = generation.pop(prediction_id, None)
            if sequence is not None:
                break
        if sequence is None or sequence < self._next - self._ring:
            return None
        probabilities = (self._probabilities[sequence % self._probability_ring]
                         if sequence >= self._next - self._probability_ring else None)
        slot = sequence % self._ring
        return self._predictions[slot], probabilities, float(self._times[slot])


def _grown(ring: np.ndarray, full_size: int, end: int) -> np.ndarray:
    """`ring` with room for sequence numbers below `end`, doubling up to `full_size`.

    Until a ring is full no position has wrapped, so a sequence number is its own index in the
    smaller array and keeps it in the larger one.
    """
    size = ring.shape[0]
    if end <= size or size == full_size:
        return ring
    grown = np.empty(min(full_size, max(end, 2 * size)), dtype=ring.dtype)
    grown[:size] = ring
    return grown
