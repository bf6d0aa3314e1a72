"""Building `RecordBatch`es directly, and a source of them, for tests of the runtime without
files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np

from neural_tui.records import IngestBatch, RecordBatch


def objects(values: Sequence[Any]) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def make_batch(
    timestamps: Sequence[float] | np.ndarray,
    *,
    model: str | None = "m",
    version: str | None = "1",
    ids: Sequence[str] | None = None,
    latency_ms: Sequence[float] | np.ndarray | None = None,
    errors: Sequence[str | None] | None = None,
    is_label: Sequence[bool] | None = None,
    predictions: Sequence[Any] | None = None,
    ground_truth: Sequence[Any] | None = None,
    features: Sequence[bytes | None] | None = None,
    proba: Sequence[bytes | None] | None = None,
) -> RecordBatch:
    n = len(timestamps)
    return RecordBatch(
        timestamp=np.asarray(timestamps, dtype=np.float64),
        model=objects([model] * n),
        version=objects([version] * n),
        prediction_id=objects(ids if ids is not None else [f"p{i}" for i in range(n)]),
        latency_ms=np.asarray(latency_ms if latency_ms is not None else [np.nan] * n,
                              dtype=np.float64),
        error=objects(errors if errors is not None else [None] * n),
        is_label=np.asarray(is_label if is_label is not None else [False] * n, dtype=bool),
        prediction=objects(predictions if predictions is not None else [0] * n),
        ground_truth=objects(ground_truth if ground_truth is not None else [None] * n),
        input_features=objects(features if features is not None else [b'{"x": 1}'] * n),
        prediction_proba=objects(proba if proba is not None else [None] * n),
    )


class ListSource:
    """A source that yields the given batches, then waits forever like a real tail."""

    label = "list"

    def __init__(self, batches: list[IngestBatch]) -> None:
        self._batches = batches

    async def batches(self) -> AsyncIterator[IngestBatch]:
        for batch in self._batches:
            yield batch
        await asyncio.Event().wait()
