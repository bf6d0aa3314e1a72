"""Predictions waiting for a late label, found by `prediction_id` in bounded memory.

Ids map to a sequence number in two generations of plain dicts (the older one is dropped whole
when the newer fills, so eviction costs nothing per record); predictions and probabilities sit in
ring arrays indexed by that number. A sequence number older than the ring is stale: its
prediction was overwritten, so the label finds nothing, as if evicted.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class AwaitingLabels:
    """At least the newest `capacity` predictions, at most twice that, by prediction id."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._current: dict[str, int] = {}
        self._previous: dict[str, int] = {}
        self._ring = 2 * capacity
        self._predictions = np.empty(self._ring, dtype=object)
        self._probabilities = np.empty(self._ring, dtype=object)
        self._next = 0

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)

    def __contains__(self, prediction_id: object) -> bool:
        return prediction_id in self._current or prediction_id in self._previous

    def add(self, ids: np.ndarray, predictions: np.ndarray, probabilities: np.ndarray) -> None:
        """Remember rows (object arrays of equal length); only the newest `capacity` count."""
        ids, predictions = ids[-self.capacity:], predictions[-self.capacity:]
        probabilities = probabilities[-self.capacity:]
        n = ids.shape[0]
        positions = (self._next + np.arange(n)) % self._ring
        self._predictions[positions] = predictions
        self._probabilities[positions] = probabilities
        if len(self._current) + n > self.capacity:
            self._previous, self._current = self._current, {}
        self._current.update(zip(ids.tolist(), range(self._next, self._next + n), strict=True))
        self._next += n

    def pop(self, prediction_id: str) -> tuple[Any, Any] | None:
        """The (prediction, probabilities) of that id, forgotten once found; None if unknown."""
        sequence = self._current.pop(prediction_id, None)
        if sequence is None:
            sequence = self._previous.pop(prediction_id, None)
        if sequence is None or sequence < self._next - self._ring:
            return None
        position = sequence % self._ring
        return self._predictions[position], self._probabilities[position]
