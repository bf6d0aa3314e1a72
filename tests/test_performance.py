"""Performance engine: figures against hand-written confusion matrices, NumPy and scipy."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from neural_tui.engines.performance import (
    AnomalySettings,
    performance,
    prediction_anomalies,
    prediction_profile,
)

NAN = float("nan")


def objects(*values: object) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def test_binary_figures_match_a_confusion_matrix_written_out_by_hand():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 1])
    predictions = np.array([1, 1, 0, 1, 0, 1, 0, 0, 0, 0])
    # TP = 3 (rows 0, 1, 3), FN = 2 (rows 2, 9), FP = 1 (row 5), TN = 4.
    report = performance(predictions, labels)
    assert report.task == "classification"
    assert report.average == "binary"
    assert report.positive_label == "1"
    assert report.n_labelled == 10
    assert report.accuracy == pytest.approx(7 / 10)
    assert report.precision == pytest.approx(3 / 4)
    assert report.recall == pytest.approx(3 / 5)
    assert report.f1 == pytest.approx(6 / 9)


def test_multiclass_figures_are_macro_averages_of_a_hand_written_confusion_matrix():
    labels = objects("cat", "cat", "cat", "dog", "dog", "bird")
    predictions = objects("cat", "dog", "cat", "dog", "cat", "dog")
    # cat: P 2/3 R 2/3 F1 2/3; dog: P 1/3 R 1/2 F1 2/5; bird never predicted: P 0 R 0 F1 0.
    report = performance(predictions, labels)
    assert report.average == "macro"
    assert report.classes == ("bird", "cat", "dog")
    assert report.accuracy == pytest.approx(0.5)
    assert report.precision == pytest.approx(1 / 3)
    assert report.recall == pytest.approx(7 / 18)
    assert report.f1 == pytest.approx(16 / 45)


def confusion(labels: np.ndarray, predictions: np.ndarray, k: int) -> np.ndarray:
    matrix = np.zeros((k, k), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def noisy_predictions(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    flip = rng.random(n) < 0.3
    predictions = np.where(flip, rng.integers(0, k, n), labels)
    return labels, predictions


def test_multiclass_macro_figures_match_an_independent_numpy_confusion_matrix():
    labels, predictions = noisy_predictions(seed=11, n=3000, k=4)
    matrix = confusion(labels, predictions, 4)
    tp = np.diag(matrix)
    precision = tp / matrix.sum(axis=0)
    recall = tp / matrix.sum(axis=1)
    f1 = 2 * precision * recall / (precision + recall)
    report = performance(predictions, labels)
    assert report.accuracy == pytest.approx(tp.sum() / matrix.sum())
    assert report.precision == pytest.approx(precision.mean())
    assert report.recall == pytest.approx(recall.mean())
    assert report.f1 == pytest.approx(f1.mean())


def test_binary_figures_match_an_independent_numpy_confusion_matrix():
    labels, predictions = noisy_predictions(seed=12, n=2500, k=2)
    (tn, fp), (fn, tp) = confusion(labels, predictions, 2)
    report = performance(predictions.astype(float), labels.astype(float))
    assert report.precision == pytest.approx(tp / (tp + fp))
    assert report.recall == pytest.approx(tp / (tp + fn))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert report.f1 == pytest.approx(2 * precision * recall / (precision + recall))
    assert report.accuracy == pytest.approx((tp + tn) / len(labels))


def test_roc_auc_is_mann_whitney_u_over_n_pos_times_n_neg_with_ties():
    rng = np.random.default_rng(13)
    labels = rng.integers(0, 2, 1500)
    scores = np.clip(np.round(0.3 * labels + rng.uniform(0, 0.7, 1500), 1), 0, 1)
    assert np.unique(scores).size < 12
    positives, negatives = scores[labels == 1], scores[labels == 0]
    u = mannwhitneyu(positives, negatives).statistic
    report = performance((scores > 0.5).astype(int), labels, scores)
    assert report.roc_auc == pytest.approx(u / (positives.size * negatives.size))


def test_roc_auc_takes_the_positive_column_of_a_probability_matrix_by_its_name():
    rng = np.random.default_rng(14)
    labels = rng.integers(0, 2, 400)
    p1 = np.clip(0.25 * labels + rng.uniform(0, 0.75, 400), 0, 1)
    expected = mannwhitneyu(p1[labels == 1], p1[labels == 0]).statistic / (
        (labels == 1).sum() * (labels == 0).sum()
    )
    matrix = np.column_stack([p1, 1 - p1])
    report = performance(labels, labels, matrix, probability_classes=["1", "0"])
    assert report.roc_auc == pytest.approx(expected)


def test_multiclass_roc_auc_is_the_one_vs_rest_macro_average():
    rng = np.random.default_rng(15)
    labels = rng.integers(0, 3, 900)
    matrix = rng.dirichlet(np.ones(3), 900) + 0.4 * np.eye(3)[labels]
    matrix /= matrix.sum(axis=1, keepdims=True)
    expected = np.mean(
        [
            mannwhitneyu(matrix[labels == c, c], matrix[labels != c, c]).statistic
            / ((labels == c).sum() * (labels != c).sum())
            for c in range(3)
        ]
    )
    report = performance(matrix.argmax(axis=1), labels, matrix, probability_classes=["0", "1", "2"])
    assert report.average == "macro"
    assert report.roc_auc == pytest.approx(expected)


def test_roc_auc_is_none_when_the_labels_hold_one_class():
    report = performance(np.array([1, 0, 1]), np.array([1, 1, 1]), np.array([0.9, 0.2, 0.7]))
    assert report.roc_auc is None
    assert report.accuracy == pytest.approx(2 / 3)


def test_values_compare_as_json_does():
    predictions = objects(1, 1.0, "1", True)
    labels = objects(1.0, 1, 1, 1)
    assert performance(predictions, labels).accuracy == pytest.approx(0.5)


def test_rows_without_a_label_or_a_prediction_are_left_out():
    predictions = objects(1, 1, 1, None, NAN, 0)
    labels = objects(1, None, NAN, 0, 1, 0)
    report = performance(predictions, labels)
    assert report.n_labelled == 2
    assert report.accuracy == 1.0


def test_no_labels_gives_no_figures_and_is_not_reliable():
    report = performance(np.array([1, 0, 1]), objects(None, None, None))
    assert report.n_labelled == 0
    assert not report.reliable
    figures = (report.accuracy, report.precision, report.recall, report.f1, report.roc_auc)
    assert figures == (None, None, None, None, None)


def test_empty_arrays_give_no_figures():
    report = performance(np.empty(0), np.empty(0), task="regression")
    assert (report.n_labelled, report.mae, report.rmse) == (0, None, None)


def test_reliable_needs_at_least_the_minimum_of_labels():
    labels = np.tile([0, 1], 15)
    assert performance(labels, labels).reliable
    assert not performance(labels[:29], labels[:29]).reliable
    assert performance(labels[:5], labels[:5], min_labels=5).reliable


def test_an_all_negative_window_has_accuracy_but_no_precision_or_recall():
    report = performance(np.zeros(40, dtype=int), np.zeros(40, dtype=int))
    assert report.positive_label == "1"
    assert report.accuracy == 1.0
    assert (report.precision, report.recall, report.f1) == (None, None, None)


def test_string_classes_take_the_last_class_as_positive_unless_told():
    labels = objects("spam", "spam", "ham", "ham", "ham")
    predictions = objects("spam", "ham", "spam", "ham", "ham")
    default = performance(predictions, labels)
    assert default.positive_label == "spam"
    assert default.precision == pytest.approx(1 / 2)
    assert default.recall == pytest.approx(1 / 2)
    chosen = performance(predictions, labels, positive_label="ham")
    assert chosen.positive_label == "ham"
    assert chosen.precision == pytest.approx(2 / 3)
    assert chosen.recall == pytest.approx(2 / 3)


def test_regression_mae_and_rmse_match_hand_values():
    predictions = np.array([2.5, 0.0, 2.1, 7.8])
    labels = np.array([3.0, -0.5, 2.0, 7.0])
    report = performance(predictions, labels)
    assert report.task == "regression"
    assert report.mae == pytest.approx((0.5 + 0.5 + 0.1 + 0.8) / 4)
    assert report.rmse == pytest.approx(np.sqrt((0.25 + 0.25 + 0.01 + 0.64) / 4))
    assert report.accuracy is None


def test_auto_task_reads_many_distinct_integers_as_regression():
    values = np.arange(100)
    assert performance(values, values + 1).task == "regression"
    assert performance(values % 3, values % 3).task == "classification"
    assert performance(values % 3, (values + 1) % 3, task="regression").mae == pytest.approx(
        np.mean(np.abs(values % 3 - (values + 1) % 3))
    )


def test_a_probability_matrix_without_column_names_is_rejected():
    with pytest.raises(ValueError, match="probability_classes"):
        performance(np.array([1, 0]), np.array([1, 0]), np.array([[0.2, 0.8], [0.9, 0.1]]))


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="3 predictions but 2 labels"):
        performance(np.array([1, 0, 1]), np.array([1, 0]))


def confident(rows: int, top: float) -> np.ndarray:
    return np.tile([top, 1.0 - top], (rows, 1))


def test_a_confidence_drop_beyond_the_threshold_is_a_collapse():
    reference = prediction_profile(np.zeros(200, dtype=int), confident(200, 0.9))
    collapsed = prediction_anomalies(reference, np.zeros(200, dtype=int), confident(200, 0.7))
    assert collapsed.confidence_collapse
    assert collapsed.mean_confidence == pytest.approx(0.7)
    assert collapsed.reference_mean_confidence == pytest.approx(0.9)
    steady = prediction_anomalies(reference, np.zeros(200, dtype=int), confident(200, 0.85))
    assert not steady.confidence_collapse


def test_confidence_of_a_positive_class_probability_is_the_larger_side():
    reference = prediction_profile(np.zeros(4, dtype=int), np.array([0.2, 0.9, 0.5, 0.1]))
    assert reference.mean_confidence == pytest.approx((0.8 + 0.9 + 0.5 + 0.9) / 4)


def test_a_shift_of_the_predicted_class_mix_is_its_total_variation_distance():
    reference = prediction_profile(objects(*["a"] * 100, *["b"] * 100))
    current = objects(*["a"] * 160, *["b"] * 20, *["c"] * 20)
    result = prediction_anomalies(reference, current)
    assert result.class_mix_distance == pytest.approx(0.5 * (0.3 + 0.4 + 0.1))
    assert result.class_mix_shift
    assert dict(result.class_shares) == pytest.approx({"a": 0.8, "b": 0.1, "c": 0.1})
    assert not result.confidence_collapse


def test_a_window_below_the_minimum_flags_nothing_but_reports_the_values():
    reference = prediction_profile(objects(*["a"] * 100, *["b"] * 100), confident(200, 0.9))
    current = objects(*["a"] * 30)
    result = prediction_anomalies(
        reference, current, confident(30, 0.5), AnomalySettings(min_samples=50)
    )
    assert result.class_mix_distance == pytest.approx(0.5)
    assert result.mean_confidence == pytest.approx(0.5)
    assert not result.any


def test_report_to_dict_is_strict_json_and_carries_the_anomalies():
    labels = np.array([1, 0, 1, 1])
    report = performance(labels, labels, np.array([0.9, 0.1, 0.8, NAN]))
    anomalies = prediction_anomalies(prediction_profile(labels), labels)
    encoded = json.loads(
        json.dumps(replace(report, anomalies=anomalies).to_dict(), allow_nan=False)
    )
    assert encoded["n_labelled"] == 4
    assert encoded["reliable"] is False
    assert encoded["roc_auc"] == 1.0
    assert encoded["anomalies"]["class_shares"] == {"0": 0.25, "1": 0.75}
