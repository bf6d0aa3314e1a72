"""Model performance on labelled rows, and anomalies of the predictions themselves.

Labels arrive late and sparsely, so every figure travels with `n_labelled`, the number of rows
it rests on, and a report on fewer than `min_labels` rows says it is not `reliable`.

Predictions and labels are raw JSON values and are compared as JSON would compare them:
`1 == 1.0`, but `"1" != 1` and `true != 1`. A row whose label or prediction is null (or NaN)
is not labelled and is left out.

Classification:
- `accuracy`: share of labelled rows predicted right.
- Binary (at most two classes, or a `positive_label` given): precision, recall and F1 of the
  positive class. The positive class is `positive_label` when given; else `1` (or `true`) when
  every class is 0/1 (or false/true), even if the window holds no positive row; else the last
  class in sort order (numbers before strings). Pass `positive_label` for string classes.
  A figure whose denominator is zero (nothing predicted positive, no positive label) is None:
  there is no evidence either way.
- Multiclass: macro averages over the classes seen among labels and predictions; a class's
  figure with a zero denominator counts as 0 (a class never predicted is a real failure), as
  scikit-learn's `zero_division=0`.
- ROC AUC: the Mann-Whitney U of the positive-class scores divided by `n_pos * n_neg`, ties
  counted half (average ranks). `probabilities` is either the positive-class probability per
  row (1-D) or one column per class (2-D) named by `probability_classes`; a 2-D matrix with
  more than two classes gives the one-vs-rest macro AUC over the labelled classes that have a
  column. Column names are JSON object keys, hence text: `"1"` names the class `1`.

Regression: MAE and RMSE over rows where both values are finite numbers.

Untrusted values never raise: an integer beyond float range is a class like any other, and an
infinite number (left out) in regression. A probability that is not a number reads as NaN; a
NaN score is left out of ROC AUC (a 2-D matrix's row with any NaN is left out of the macro
AUC), and a row without any finite probability is left out of the confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from neural_tui.engines.columns import numeric_mask, safe_text, to_categorical, to_numeric

Task = Literal["auto", "classification", "regression"]

_NULL = np.array(None, dtype=object)
"""JSON null as a 0-d array, so that numpy compares a column with it element by element."""

MIN_RELIABLE_LABELS = 30
MAX_AUTO_CLASSES = 20
"""`task="auto"` reads integral numbers with at most this many distinct values as classes."""


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """Thresholds of the prediction anomalies.

    - `confidence_drop`: confidence collapses when the window's mean top-class probability is
      more than this far (absolute) below the reference's.
    - `class_mix_distance`: the predicted-class mix shifts when the total variation distance
      between the window's class shares and the reference's exceeds this.
    - `min_samples`: fewer rows than this flag nothing (sampling noise alone moves both).
    """

    confidence_drop: float = 0.1
    class_mix_distance: float = 0.1
    min_samples: int = 100

    def __post_init__(self) -> None:
        for name in ("confidence_drop", "class_mix_distance"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value <= 1):
                raise ValueError(f"{name} must be in (0, 1]")
        if self.min_samples < 1:
            raise ValueError("min_samples must be >= 1")


@dataclass(frozen=True, slots=True)
class PredictionProfile:
    """Mean confidence and predicted-class shares of a window; a reference's is computed once.

    `scored_rows` counts the rows with a probability, on which `mean_confidence` rests.
    """

    rows: int
    scored_rows: int
    mean_confidence: float | None
    class_shares: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class PredictionAnomalies:
    """Confidence collapse and predicted-class mix shift of a window against its reference."""

    rows: int
    mean_confidence: float | None
    reference_mean_confidence: float | None
    confidence_collapse: bool
    class_shares: tuple[tuple[str, float], ...]
    reference_class_shares: tuple[tuple[str, float], ...]
    class_mix_distance: float | None
    class_mix_shift: bool

    @property
    def any(self) -> bool:
        return self.confidence_collapse or self.class_mix_shift

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "mean_confidence": self.mean_confidence,
            "reference_mean_confidence": self.reference_mean_confidence,
            "confidence_collapse": self.confidence_collapse,
            "class_shares": dict(self.class_shares),
            "reference_class_shares": dict(self.reference_class_shares),
            "class_mix_distance": self.class_mix_distance,
            "class_mix_shift": self.class_mix_shift,
        }


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """Figures of one window; each is None when it cannot be computed from the labelled rows.

    `anomalies` is filled by whoever also ran `prediction_anomalies` on the window, so that
    both travel together in a snapshot.
    """

    task: Literal["classification", "regression"]
    n_labelled: int
    min_labels: int
    accuracy: float | None = None
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None
    mae: float | None = None
    rmse: float | None = None
    average: Literal["binary", "macro"] | None = None
    positive_label: str | None = None
    classes: tuple[str, ...] = ()
    anomalies: PredictionAnomalies | None = None

    @property
    def reliable(self) -> bool:
        return self.n_labelled >= self.min_labels

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_labelled": self.n_labelled,
            "reliable": self.reliable,
            "min_labels": self.min_labels,
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "roc_auc": self.roc_auc,
            "mae": self.mae,
            "rmse": self.rmse,
            "average": self.average,
            "positive_label": self.positive_label,
            "classes": list(self.classes),
            "anomalies": self.anomalies.to_dict() if self.anomalies else None,
        }


def performance(
    predictions: np.ndarray,
    labels: np.ndarray,
    probabilities: np.ndarray | None = None,
    *,
    task: Task = "auto",
    positive_label: Any = None,
    probability_classes: Sequence[str] | None = None,
    min_labels: int = MIN_RELIABLE_LABELS,
) -> PerformanceReport:
    """Performance of `predictions` against `labels` (row by row) over the labelled rows."""
    predictions = _as_values(predictions)
    labels = _as_values(labels)
    if predictions.shape != labels.shape:
        raise ValueError(
            f"{predictions.shape[0]} predictions but {labels.shape[0]} labels; they pair by row"
        )
    scores = _as_scores(probabilities, predictions.shape[0], probability_classes)
    labelled = _present(predictions) & _present(labels)
    if task == "auto":
        task = _infer_task(predictions, labels, labelled, probabilities is not None)
    if task == "regression":
        return _regression(predictions[labelled], labels[labelled], min_labels)
    if task != "classification":
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', not {task!r}")
    return _classification(
        predictions[labelled],
        labels[labelled],
        None if scores is None else scores[labelled],
        positive_label,
        probability_classes,
        min_labels,
    )


def _as_values(values: np.ndarray | Sequence[Any]) -> np.ndarray:
    array = values if isinstance(values, np.ndarray) else np.array(values, dtype=object)
    if array.ndim != 1:
        raise ValueError("predictions and labels must be one-dimensional")
    return array.astype(object) if array.dtype.kind in "US" else array


def _as_scores(
    probabilities: np.ndarray | None, rows: int, classes: Sequence[str] | None
) -> np.ndarray | None:
    if probabilities is None:
        return None
    scores = _as_floats(probabilities)
    if scores.ndim not in (1, 2) or scores.shape[0] != rows:
        raise ValueError(
            f"probabilities must have {rows} rows (1-D, or 2-D with one column per class)"
        )
    if scores.ndim == 2 and (classes is None or len(classes) != scores.shape[1]):
        raise ValueError("a 2-D probabilities matrix needs probability_classes, one per column")
    return scores


def _as_floats(probabilities: np.ndarray) -> np.ndarray:
    """Probabilities as float64 of any shape; raw values that are not numbers become NaN."""
    array = np.asarray(probabilities)
    if array.dtype.kind in "fiub":
        return array.astype(np.float64)
    return to_numeric(array.astype(object).ravel()).reshape(array.shape)


def _present(values: np.ndarray) -> np.ndarray:
    """Not null and not NaN: a value that can be compared."""
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    if values.dtype.kind != "O":
        return np.ones(values.shape[0], dtype=bool)
    numbers = to_numeric(values)
    return ~np.equal(values, _NULL) & ~(numeric_mask(values) & np.isnan(numbers))


def _infer_task(
    predictions: np.ndarray, labels: np.ndarray, labelled: np.ndarray, has_probabilities: bool
) -> Literal["classification", "regression"]:
    """Classes when there are probabilities, non-numbers, or few distinct integral numbers."""
    if has_probabilities:
        return "classification"
    values = np.concatenate([predictions[_present(predictions)], labels[labelled]]).astype(object)
    if values.size == 0 or not numeric_mask(values).all():
        return "classification"
    numbers = to_numeric(values)
    integral = bool(np.all(numbers == np.round(numbers)))
    if integral and np.unique(numbers).size <= MAX_AUTO_CLASSES:
        return "classification"
    return "regression"


def _regression(predictions: np.ndarray, labels: np.ndarray, min_labels: int) -> PerformanceReport:
    predicted = to_numeric(predictions.astype(object, copy=False))
    actual = to_numeric(labels.astype(object, copy=False))
    usable = np.isfinite(predicted) & np.isfinite(actual)
    errors = predicted[usable] - actual[usable]
    n = int(errors.size)
    if n == 0:
        return PerformanceReport(task="regression", n_labelled=0, min_labels=min_labels)
    return PerformanceReport(
        task="regression",
        n_labelled=n,
        min_labels=min_labels,
        mae=float(np.mean(np.abs(errors))),
        rmse=float(np.sqrt(np.mean(errors**2))),
    )


def _json_key(value: Any) -> str:
    """Text that is equal for two values exactly when JSON would call them equal."""
    if isinstance(value, bool):
        return "b" + ("true" if value else "false")
    if isinstance(value, int | float):
        return "n" + _number_text(value)
    if isinstance(value, str):
        return "s" + value
    return "o" + safe_text(value)


def json_equal(prediction: Any, label: Any) -> bool:
    """Whether a prediction matches its label as accuracy counts a match: equal as JSON values
    (1 == 1.0, "1" != 1, true != 1)."""
    if type(prediction) is type(label) and type(prediction) in (int, str, bool):
        return bool(prediction == label)
    return bool(_json_key(prediction) == _json_key(label))


def _number_text(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else safe_text(value)


_json_keys = np.frompyfunc(_json_key, 1, 1)


def _display(key: str) -> str:
    return key[1:]


def _sort_key(key: str) -> tuple[int, float, str]:
    rank = "bnso".index(key[0])
    return (rank, float(key[1:]) if key[0] == "n" else 0.0, key[1:])


def _classification(
    predictions: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray | None,
    positive_label: Any,
    probability_classes: Sequence[str] | None,
    min_labels: int,
) -> PerformanceReport:
    n = int(labels.shape[0])
    label_keys = _json_keys(labels.astype(object, copy=False)).astype(object)
    predicted_keys = _json_keys(predictions.astype(object, copy=False)).astype(object)
    unique, inverse = np.unique(np.concatenate([label_keys, predicted_keys]), return_inverse=True)
    seen = sorted(unique.tolist(), key=_sort_key)
    position = {key: i for i, key in enumerate(seen)}
    codes = np.array([position[key] for key in unique.tolist()], dtype=np.intp)[inverse]
    actual, predicted = codes[:n], codes[n:]
    binary = positive_label is not None or len(seen) <= 2
    positive = _positive_key(seen, positive_label) if binary else None
    classes = tuple(_display(k) for k in seen)
    if n == 0:
        return PerformanceReport(
            task="classification",
            n_labelled=0,
            min_labels=min_labels,
            average="binary" if binary else "macro",
            positive_label=_display(positive) if positive else None,
            classes=classes,
        )
    k = len(seen)
    right = actual == predicted
    true_positive = np.bincount(actual[right], minlength=k)
    predicted_count = np.bincount(predicted, minlength=k)
    actual_count = np.bincount(actual, minlength=k)
    accuracy = float(right.mean())
    if binary and positive is not None:
        tp, fp, fn = _binary_counts(positive, seen, true_positive, predicted_count, actual_count)
        precision = _safe_ratio(tp, tp + fp)
        recall = _safe_ratio(tp, tp + fn)
        f1 = _safe_ratio(2 * tp, 2 * tp + fp + fn)
        roc_auc = _binary_auc(label_keys == positive, scores, positive, probability_classes)
    else:
        precision = _macro(true_positive, predicted_count)
        recall = _macro(true_positive, actual_count)
        f1 = _macro(2 * true_positive, predicted_count + actual_count)
        roc_auc = _macro_auc(label_keys, scores, seen, probability_classes)
    return PerformanceReport(
        task="classification",
        n_labelled=n,
        min_labels=min_labels,
        accuracy=accuracy,
        precision=precision,
        recall=recall,
        f1=f1,
        roc_auc=roc_auc,
        average="binary" if binary else "macro",
        positive_label=_display(positive) if positive else None,
        classes=classes,
    )


def _positive_key(seen: list[str], positive_label: Any) -> str | None:
    if positive_label is not None:
        return _json_key(positive_label)
    if not seen:
        return None
    if set(seen) <= {"n0", "n1"}:
        return "n1"
    if set(seen) <= {"bfalse", "btrue"}:
        return "btrue"
    return seen[-1]


def _binary_counts(
    positive: str,
    seen: list[str],
    true_positive: np.ndarray,
    predicted_count: np.ndarray,
    actual_count: np.ndarray,
) -> tuple[int, int, int]:
    if positive not in seen:
        return 0, 0, 0
    i = seen.index(positive)
    tp = int(true_positive[i])
    return tp, int(predicted_count[i]) - tp, int(actual_count[i]) - tp


def _safe_ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _macro(part: np.ndarray, whole: np.ndarray) -> float:
    per_class = np.divide(part, whole, out=np.zeros(part.shape[0]), where=whole > 0)
    return float(per_class.mean())


def _column_of(key: str, probability_classes: Sequence[str] | None) -> int | None:
    if probability_classes is None:
        return None
    names = [str(c) for c in probability_classes]
    return names.index(_display(key)) if _display(key) in names else None


def _binary_auc(
    is_positive: np.ndarray,
    scores: np.ndarray | None,
    positive: str,
    probability_classes: Sequence[str] | None,
) -> float | None:
    if scores is None:
        return None
    if scores.ndim == 2:
        column = _column_of(positive, probability_classes)
        if column is None:
            return None
        scores = scores[:, column]
    usable = np.isfinite(scores)
    return _auc(scores[usable], is_positive[usable])


def _auc(scores: np.ndarray, is_positive: np.ndarray) -> float | None:
    """Mann-Whitney U of the positives' scores over `n_pos * n_neg` (average ranks for ties)."""
    n_pos = int(is_positive.sum())
    n_neg = int(is_positive.size) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    from scipy.stats import rankdata  # at first use: see `two_sample`

    ranks = rankdata(scores)
    u = ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def _macro_auc(
    label_keys: np.ndarray,
    scores: np.ndarray | None,
    seen: list[str],
    probability_classes: Sequence[str] | None,
) -> float | None:
    """Mean one-vs-rest AUC over the classes with a column and both positive and negative rows."""
    if scores is None or scores.ndim != 2:
        return None
    usable_rows = np.isfinite(scores).all(axis=1)
    label_keys = label_keys[usable_rows]
    columns = [(k, _column_of(k, probability_classes)) for k in seen]
    columns = [(k, c) for k, c in columns if c is not None]
    if not columns:
        return None
    matrix = scores[usable_rows][:, [c for _, c in columns]]
    keys = np.array([k for k, _ in columns], dtype=object)
    is_class = (label_keys[:, None] == keys[None, :]).astype(bool)
    n_pos = is_class.sum(axis=0)
    n_neg = is_class.shape[0] - n_pos
    both = (n_pos > 0) & (n_neg > 0)
    if not both.any():
        return None
    from scipy.stats import rankdata

    ranks = rankdata(matrix, axis=0)
    u = (ranks * is_class).sum(axis=0) - n_pos * (n_pos + 1) / 2
    aucs = u[both] / (n_pos[both] * n_neg[both])
    return float(aucs.mean())


def prediction_profile(
    predictions: np.ndarray, probabilities: np.ndarray | None = None
) -> PredictionProfile:
    """Reference figures for `prediction_anomalies`: mean confidence and class shares."""
    predictions = _as_values(predictions)
    confidence = _confidence(probabilities)
    return PredictionProfile(
        rows=int(predictions.shape[0]),
        scored_rows=int(confidence.size),
        mean_confidence=float(confidence.mean()) if confidence.size else None,
        class_shares=_class_shares(predictions),
    )


def prediction_anomalies(
    reference: PredictionProfile,
    predictions: np.ndarray,
    probabilities: np.ndarray | None = None,
    settings: AnomalySettings | None = None,
) -> PredictionAnomalies:
    """Compare a window's predictions (classification) with the reference profile.

    Confidence is the top-class probability per row: the row maximum of a per-class matrix, or
    `max(p, 1 - p)` for a 1-D positive-class probability. The class mix distance is the total
    variation distance `0.5 * sum(|share - reference share|)` over the classes of either.
    """
    settings = settings or AnomalySettings()
    current = prediction_profile(predictions, probabilities)
    collapse = (
        current.mean_confidence is not None
        and reference.mean_confidence is not None
        and current.scored_rows >= settings.min_samples
        and reference.mean_confidence - current.mean_confidence > settings.confidence_drop
    )
    distance = _total_variation(reference.class_shares, current.class_shares)
    shift = (
        distance is not None
        and current.rows >= settings.min_samples
        and distance > settings.class_mix_distance
    )
    return PredictionAnomalies(
        rows=current.rows,
        mean_confidence=current.mean_confidence,
        reference_mean_confidence=reference.mean_confidence,
        confidence_collapse=bool(collapse),
        class_shares=current.class_shares,
        reference_class_shares=reference.class_shares,
        class_mix_distance=distance,
        class_mix_shift=bool(shift),
    )


def _confidence(probabilities: np.ndarray | None) -> np.ndarray:
    """Top-class probability of every row that has one."""
    if probabilities is None:
        return np.empty(0)
    scores = _as_floats(probabilities)
    if scores.ndim == 1:
        scores = scores[np.isfinite(scores)]
        return np.maximum(scores, 1.0 - scores)
    if scores.shape[1] == 0:
        return np.empty(0)
    top = np.where(np.isfinite(scores), scores, -np.inf).max(axis=1)
    return top[np.isfinite(top)]


def _class_shares(predictions: np.ndarray) -> tuple[tuple[str, float], ...]:
    labels = to_categorical(predictions.astype(object, copy=False))
    labels = labels[np.not_equal(labels, _NULL)]
    if labels.size == 0:
        return ()
    names, counts = np.unique(labels, return_counts=True)
    shares = counts / counts.sum()
    return tuple((str(name), float(share)) for name, share in zip(names, shares, strict=True))


def _total_variation(
    reference: tuple[tuple[str, float], ...], current: tuple[tuple[str, float], ...]
) -> float | None:
    if not reference or not current:
        return None
    before, after = dict(reference), dict(current)
    names = sorted(before.keys() | after.keys())
    gaps = np.abs(
        np.array([after.get(n, 0.0) for n in names]) - np.array([before.get(n, 0.0) for n in names])
    )
    return float(0.5 * gaps.sum())


def confidence_outliers(confidence: np.ndarray, threshold: float) -> np.ndarray:
    """Rows whose confidence lies more than `threshold` population standard deviations from
    the mean of the finite ones (the old module's anomalous predictions); False where the
    confidence is NaN, and everywhere when the confidences do not vary."""
    if not (math.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
    values = np.asarray(confidence, dtype=np.float64)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape[0], dtype=bool)
    spread = float(values[finite].std())
    if spread == 0.0 or not math.isfinite(spread):
        return np.zeros(values.shape[0], dtype=bool)
    scores = np.abs(values - values[finite].mean()) / spread
    return finite & (scores > threshold)
