"""The old module's `PredictionAnalyzer`: figures over the newest stored predictions.

It reads storage with the tail source the one-shot reports use (one pass over what is on disk
when called) and keeps only the rows of its window; the figures come from the engines
(`engines.performance` for accuracy and the rest, `engines.drift.top_probabilities` for the
confidence), so they agree with what the console and `neural-tui drift` say.

- A prediction is a record that is not a late label; a failed request (`error` set) is one,
  counted in the error rate, with no prediction of its own.
- `window=N`: the newest N predictions by record time; `time_window=T`: those stamped within
  the T seconds before the call, at most `MAX_WINDOW_ROWS` of the newest. Records stamped after
  the call (a writer's clock ahead) are left out of both.
- A prediction's label is its own `ground_truth`, else the newest late label for its
  `prediction_id` among the last `MAX_LABELS` labels read.
- Memory is bounded: the window keeps typed columns, never the raw `input_features`; the
  records `detect_anomalous_predictions` returns are read again, by id, in a second pass.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, fields
from typing import Any, TypeVar

import numpy as np

from neural_tui.config import Settings, StorageSection
from neural_tui.decode import decode_objects
from neural_tui.engines.columns import to_categorical
from neural_tui.engines.drift import top_probabilities
from neural_tui.engines.performance import confidence_outliers, performance
from neural_tui.producer import storage_root
from neural_tui.records import RecordBatch
from neural_tui.runtime.defaults import ModelDefaults
from neural_tui.runtime.state import MAX_FEATURES_BYTES
from neural_tui.sources.tail import TailSource
from neural_tui.storage_layout import misplaced_records

MAX_WINDOW_ROWS = 100_000
"""Most predictions a window holds, whatever `window` or `time_window` asks."""
MAX_LABELS = 200_000
"""Late labels remembered while reading, the newest kept."""
MAX_TIME_WINDOW_SECONDS = 366 * 86_400.0
LOW_CONFIDENCE = 0.5
"""A top-class probability below this is low confidence (the old module's cut)."""

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One stored prediction, as the old module returned it. `metadata` is not read back
    (None): the reader skips it unparsed."""

    timestamp: float
    prediction_id: str
    input_features: dict[str, Any] | None
    prediction: Any
    prediction_proba: dict[str, Any] | None = None
    ground_truth: Any = None
    latency_ms: float | None = None
    metadata: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class _Window:
    """The kept predictions in time order: typed columns, no raw features."""

    timestamp: np.ndarray
    prediction_id: np.ndarray
    prediction: np.ndarray
    ground_truth: np.ndarray
    latency_ms: np.ndarray
    error: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    def take(self, index: np.ndarray) -> _Window:
        return _Window(*(getattr(self, f.name)[index] for f in fields(self)))

    @staticmethod
    def join(a: _Window, b: _Window) -> _Window:
        return _Window(*(np.concatenate([getattr(a, f.name), getattr(b, f.name)])
                         for f in fields(_Window)))

    @staticmethod
    def of(rows: RecordBatch) -> _Window:
        probabilities = np.empty(len(rows), dtype=object)
        probabilities[:] = decode_objects(rows.prediction_proba.tolist())
        return _Window(rows.timestamp, rows.prediction_id, rows.prediction, rows.ground_truth,
                       rows.latency_ms, rows.error, top_probabilities(probabilities))


class PredictionAnalyzer:
    """Analysis of stored predictions: latency, prediction mix, confidence, errors, accuracy.

    `source` is a `PredictionLogger` (or `ModelMonitor`), whose buffered records are flushed
    first so that they count, or a storage path. `model_name`/`model_version` select one
    model's records (a `ModelMonitor`'s own by default; else every record in storage).
    """

    def __init__(
        self,
        source: Any,
        *,
        model_name: str | None = None,
        model_version: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.logger = None if isinstance(source, str | os.PathLike) else source
        path = source if self.logger is None else getattr(source, "storage_path", None)
        if path is None:
            raise TypeError("PredictionAnalyzer needs a PredictionLogger or a storage path, "
                            f"got {type(source).__name__}")
        self.storage_path = storage_root(path)
        self.model_name = model_name or getattr(self.logger, "model_name", None)
        self.model_version = model_version or (
            getattr(self.logger, "model_version", None) if model_name is None else None)
        self._clock = clock

    def analyze_predictions(
        self, window: int = 1000, time_window: float | None = None
    ) -> dict[str, Any]:
        """The old module's analysis of the newest `window` predictions (or those of the last
        `time_window` seconds), in its keys, plus `errors`, `window`, `skipped_lines` and the
        engine's whole `performance` report; without predictions, `warnings` says where records
        one folder off lie."""
        rows, skipped, capped = self._read_window(window, time_window)
        if len(rows) == 0:
            misplaced = misplaced_records(self.storage_path)
            return {"status": "no_data", "message": "No predictions available",
                    "skipped_lines": skipped,
                    "warnings": [misplaced.describe()] if misplaced is not None else []}
        failed = rows.error != None  # noqa: E711 - elementwise on an object array
        analysis: dict[str, Any] = {
            "status": "ok",
            "total_predictions": len(rows),
            "time_range": {"start": float(rows.timestamp[0]), "end": float(rows.timestamp[-1])},
            "window": {"rows": len(rows), "window": None if time_window else window,
                       "time_window": time_window, "capped": capped},
            "errors": _errors(rows.error[failed], len(rows)),
            "skipped_lines": skipped,
        }
        latency = rows.latency_ms[np.isfinite(rows.latency_ms) & (rows.latency_ms >= 0)]
        if latency.shape[0]:
            analysis["latency"] = _latency(latency)
        served = rows.take(~failed)
        analysis["prediction_distribution"] = _distribution(served.prediction)
        report = performance(served.prediction, served.ground_truth)
        if report.n_labelled:
            analysis["performance"] = report.to_dict()
        if report.n_labelled and report.accuracy is not None:
            analysis["accuracy"] = {
                "total_labeled": report.n_labelled,
                "correct": round(report.accuracy * report.n_labelled),
                "accuracy": report.accuracy,
            }
        confidence = served.confidence[np.isfinite(served.confidence)]
        if confidence.shape[0]:
            analysis["confidence"] = _confidence(confidence)
        return analysis

    def calculate_performance_metrics(self, window: int = 1000) -> dict[str, float]:
        """Accuracy, precision, recall and F1 of the labelled among the newest `window`
        predictions: only those the engine can compute (none without labels)."""
        rows, _, _ = self._read_window(window, None)
        served = rows.take(rows.error == None)  # noqa: E711 - elementwise on an object array
        report = performance(served.prediction, served.ground_truth)
        figures = {"accuracy": report.accuracy, "precision": report.precision,
                   "recall": report.recall, "f1": report.f1}
        return {name: value for name, value in figures.items() if value is not None}

    def detect_anomalous_predictions(
        self, window: int = 1000, threshold: float = 3.0
    ) -> list[PredictionRecord]:
        """The newest `window` predictions whose confidence (top-class probability) lies more
        than `threshold` standard deviations from the window's mean, oldest first."""
        if not (isinstance(threshold, int | float) and math.isfinite(threshold)
                and threshold > 0):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        rows, _, _ = self._read_window(window, None)
        outliers = rows.take(confidence_outliers(rows.confidence, float(threshold)))
        if len(outliers) == 0:
            return []
        objects = _run(self._read_objects(set(outliers.prediction_id.tolist())))
        return [
            PredictionRecord(
                timestamp=float(t), prediction_id=str(i), input_features=objects.get(i, (None,))[0],
                prediction=p, prediction_proba=objects.get(i, (None, None))[1], ground_truth=g,
                latency_ms=None if math.isnan(latency) else float(latency),
            )
            for t, i, p, g, latency in zip(
                outliers.timestamp.tolist(), outliers.prediction_id.tolist(),
                outliers.prediction.tolist(), outliers.ground_truth.tolist(),
                outliers.latency_ms.tolist(), strict=True)
        ]

    def _read_window(
        self, window: int, time_window: float | None
    ) -> tuple[_Window, dict[str, int], bool]:
        if time_window is None:
            _check_window(window)
        elif not (isinstance(time_window, int | float) and math.isfinite(time_window)
                  and 0 < time_window <= MAX_TIME_WINDOW_SECONDS):
            raise ValueError(f"time_window must be seconds in (0, {MAX_TIME_WINDOW_SECONDS:g}], "
                             f"got {time_window!r}")
        flush = getattr(self.logger, "flush", None)
        if callable(flush):
            flush()
        if not self.storage_path.is_dir():
            raise FileNotFoundError(f"{self.storage_path}: storage directory does not exist")
        now = self._clock()
        since = -math.inf if time_window is None else now - time_window
        limit = MAX_WINDOW_ROWS if time_window is not None else window
        rows, skipped, capped = _run(self._collect(since, now, limit))
        return rows, skipped, capped and time_window is not None

    def _defaults(self) -> ModelDefaults:
        settings = Settings(storage=StorageSection(path=self.storage_path))
        return ModelDefaults.from_settings(settings, self.storage_path)

    def _mine(self, records: RecordBatch, defaults: ModelDefaults) -> RecordBatch:
        if self.model_name is None or len(records) == 0:
            return records
        names = defaults.names(records.model)
        keep = names == self.model_name
        if self.model_version is not None:
            keep &= defaults.versions(names, records.version) == self.model_version
        return records.take(keep.astype(bool))

    async def _collect(
        self, since: float, now: float, limit: int
    ) -> tuple[_Window, dict[str, int], bool]:
        defaults = self._defaults()
        kept = _Window.of(RecordBatch.empty())
        labels: OrderedDict[str, Any] = OrderedDict()
        skipped: Counter[str] = Counter()
        seen = 0
        async with TailSource(self.storage_path) as source:
            async for batch in source.available():
                skipped.update(batch.skipped)
                records = self._mine(batch.records, defaults)
                _remember_labels(records.take(records.is_label), labels)
                rows = records.take(~records.is_label & (records.timestamp >= since)
                                    & (records.timestamp <= now))
                seen += len(rows)
                rows = rows.take(_newest(rows.timestamp, limit))
                kept = _Window.join(kept, _Window.of(rows))
                kept = kept.take(_newest(kept.timestamp, limit))
        return _labelled(kept, labels), dict(skipped), seen > len(kept)

    async def _read_objects(
        self, ids: set[str]
    ) -> dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        """The `input_features` and `prediction_proba` of the predictions with these ids; a
        features object longer than the runtime keeps is not read back (None)."""
        found: dict[str, tuple[dict[str, Any] | None, dict[str, Any] | None]] = {}
        async with TailSource(self.storage_path) as source:
            async for batch in source.available():
                records = batch.records
                wanted = np.fromiter((i in ids for i in records.prediction_id.tolist()), bool,
                                     len(records)) & ~records.is_label
                if not wanted.any():
                    continue
                rows = records.take(wanted)
                raw = [None if f is None or len(f) > MAX_FEATURES_BYTES else f
                       for f in rows.input_features.tolist()]
                for prediction_id, features, proba in zip(
                        rows.prediction_id.tolist(), decode_objects(raw),
                        decode_objects(rows.prediction_proba.tolist()), strict=True):
                    found[prediction_id] = (_object(features), _object(proba))
        return found


def _check_window(window: int) -> None:
    if isinstance(window, bool) or not isinstance(window, int) \
            or not 1 <= window <= MAX_WINDOW_ROWS:
        raise ValueError(f"window must be an int in [1, {MAX_WINDOW_ROWS}], got {window!r}")


def _object(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _newest(timestamps: np.ndarray, limit: int) -> np.ndarray:
    """Indices of the `limit` newest rows, in time order (stable for equal times)."""
    order = np.argsort(timestamps, kind="stable")
    return order[-limit:] if limit < order.shape[0] else order


def _remember_labels(labels: RecordBatch, memory: OrderedDict[str, Any]) -> None:
    for prediction_id, ground_truth in zip(labels.prediction_id.tolist(),
                                           labels.ground_truth.tolist(), strict=True):
        memory[prediction_id] = ground_truth
        memory.move_to_end(prediction_id)
    while len(memory) > MAX_LABELS:
        memory.popitem(last=False)


def _labelled(rows: _Window, labels: OrderedDict[str, Any]) -> _Window:
    """The window with each unlabelled prediction given its late label, if one was read."""
    if not labels or len(rows) == 0:
        return rows
    truth = rows.ground_truth.copy()
    for index in np.flatnonzero(truth == None).tolist():  # noqa: E711 - elementwise
        truth[index] = labels.get(rows.prediction_id[index])
    return _Window(rows.timestamp, rows.prediction_id, rows.prediction, truth, rows.latency_ms,
                   rows.error, rows.confidence)


def _errors(failed: np.ndarray, total: int) -> dict[str, Any]:
    return {"total": int(failed.shape[0]), "rate": failed.shape[0] / total,
            "by_type": dict(Counter(failed.tolist()).most_common())}


def _latency(latency_ms: np.ndarray) -> dict[str, float]:
    """The old module's latency figures, in ms; percentiles interpolated linearly, as the
    runtime computes `latency_p95_ms`."""
    p50, p95, p99 = (float(v) for v in np.percentile(latency_ms, [50, 95, 99]))
    return {"mean": float(latency_ms.mean()), "median": p50, "p50": p50, "p95": p95,
            "p99": p99, "min": float(latency_ms.min()), "max": float(latency_ms.max())}


def _distribution(predictions: np.ndarray) -> dict[str, int]:
    """Predictions counted by class, as the engines name classes (`1` and `1.0` are one)."""
    labels = to_categorical(predictions)
    labels = labels[labels != None]  # noqa: E711 - elementwise on an object array
    if labels.shape[0] == 0:
        return {}
    names, counts = np.unique(labels.astype(str), return_counts=True)
    return {str(n): int(c) for n, c in zip(names.tolist(), counts.tolist(), strict=True)}


def _confidence(confidence: np.ndarray) -> dict[str, float]:
    return {"mean": float(confidence.mean()), "median": float(np.median(confidence)),
            "min": float(confidence.min()), "max": float(confidence.max()),
            "low_confidence_rate": float((confidence < LOW_CONFIDENCE).mean())}


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run `coroutine` to its end: here, or in a thread of its own when this thread already
    runs an event loop (an async model server)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1, "prediction-analyzer") as pool:
        return pool.submit(asyncio.run, coroutine).result()
