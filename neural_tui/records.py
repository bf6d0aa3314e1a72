"""Columnar record batches: the one shape every source hands to the runtime.

A batch is a set of equally long numpy columns, one row per valid line of storage. Columns that
the runtime needs for every record (time, latency, error, model) are typed arrays; the bulky
per-record objects (`input_features`, `prediction_proba`) stay as raw JSON bytes and are decoded
only for the rows the engines keep in their bounded windows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

OBJECT = np.dtype(object)


@dataclass(frozen=True, slots=True)
class RecordBatch:
    """Rows decoded from storage, in file order.

    - `timestamp`: float64 unix seconds.
    - `model`, `version`: object arrays of `str`, or `None` where the line did not say (the
      runtime fills in the default from `monitor_config.json` or the config).
    - `prediction_id`: object array of `str` (integer ids are turned into strings).
    - `latency_ms`: float64, NaN where absent.
    - `error`: object array of `str` or `None`; a string means the request failed.
    - `is_label`: bool; True for a late label line (a `prediction_id` and a `ground_truth`,
      no `input_features`). Such rows are not predictions.
    - `prediction`, `ground_truth`: object arrays of the decoded JSON values.
    - `input_features`, `prediction_proba`: object arrays of raw JSON `bytes` (an object) or
      `None`; decode with `msgspec.json.decode` when needed.
    """

    timestamp: np.ndarray
    model: np.ndarray
    version: np.ndarray
    prediction_id: np.ndarray
    latency_ms: np.ndarray
    error: np.ndarray
    is_label: np.ndarray
    prediction: np.ndarray
    ground_truth: np.ndarray
    input_features: np.ndarray
    prediction_proba: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    def take(self, index: np.ndarray | slice) -> RecordBatch:
        """Rows selected by a boolean mask, index array or slice, as a new batch."""
        return RecordBatch(
            timestamp=self.timestamp[index],
            model=self.model[index],
            version=self.version[index],
            prediction_id=self.prediction_id[index],
            latency_ms=self.latency_ms[index],
            error=self.error[index],
            is_label=self.is_label[index],
            prediction=self.prediction[index],
            ground_truth=self.ground_truth[index],
            input_features=self.input_features[index],
            prediction_proba=self.prediction_proba[index],
        )

    @staticmethod
    def concat(batches: Sequence[RecordBatch]) -> RecordBatch:
        """The rows of `batches`, one after the other."""
        if not batches:
            return RecordBatch.empty()
        return RecordBatch(
            **{
                column.name: np.concatenate([getattr(batch, column.name) for batch in batches])
                for column in fields(RecordBatch)
            }
        )

    @staticmethod
    def empty() -> RecordBatch:
        return RecordBatch(
            timestamp=np.empty(0, dtype=np.float64),
            model=np.empty(0, dtype=OBJECT),
            version=np.empty(0, dtype=OBJECT),
            prediction_id=np.empty(0, dtype=OBJECT),
            latency_ms=np.empty(0, dtype=np.float64),
            error=np.empty(0, dtype=OBJECT),
            is_label=np.empty(0, dtype=bool),
            prediction=np.empty(0, dtype=OBJECT),
            ground_truth=np.empty(0, dtype=OBJECT),
            input_features=np.empty(0, dtype=OBJECT),
            prediction_proba=np.empty(0, dtype=OBJECT),
        )


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """What a source yields: the valid rows, plus the lines it skipped, counted by reason.

    Reasons are short stable words used as the `reason` label of
    `neural_ingest_errors_total`: `not_json`, `not_a_record`, `too_long`, `read_error`, and
    the two reasons of `decode.KEPT_LINE_REASONS`, which count lines that were kept:
    `invalid_latency` (records whose `latency_ms` was negative, not finite or above a day, kept
    without their latency) and `long_value` (records with a value longer than
    `decode.MAX_VALUE_LENGTH`, kept with a stand-in for it). So the records plus the skips other
    than those and `read_error` are the lines read.
    `messages` holds one line per skipped line (`file:line: reason: detail`), for the log.
    `backlog` says more is already waiting behind this batch (a read filled its whole chunk).
    """

    records: RecordBatch
    skipped: Counter[str] = field(default_factory=Counter)
    messages: tuple[str, ...] = ()
    backlog: bool = False
