"""The engines at their boundaries: a value exactly on an edge, a count exactly at a cutoff.

Each test pins which side of a documented boundary a value falls on, so that moving the
boundary by one step (>= for >, a cutoff of 20 for 21, a tolerance from another base) fails.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neural_tui.engines.drift import build_reference, detect
from neural_tui.engines.performance import (
    MAX_AUTO_CLASSES,
    AnomalySettings,
    performance,
    prediction_anomalies,
    prediction_profile,
)
from neural_tui.engines.quality import QualitySettings, build_quality_reference, check

NAN = float("nan")


def counts_of(*pairs: tuple[float, int]) -> np.ndarray:
    """An array holding each value the given number of times."""
    return np.concatenate([np.full(count, value, dtype=np.float64) for value, count in pairs])


# 100 reference values: 0 x10, 1 x40, 2 x30, 3 x20. numpy's linear quantiles at 10%..90%
# (position 99p in the sorted values) are 0.9, 1, 1, 1, 1.5, 2, 2, 2.2, 3: distinct edges
# 0.9, 1, 1.5, 2, 2.2, 3, hence seven bins.
INTEGER_REFERENCE = counts_of((0, 10), (1, 40), (2, 30), (3, 20))
INTEGER_BINS = (
    "(-inf, 0.9)", "[0.9, 1)", "[1, 1.5)", "[1.5, 2)", "[2, 2.2)", "[2.2, 3)", "[3, inf)",
)


def psi_by_hand(reference: list[float], current: list[float]) -> float:
    """sum (cur - ref) ln(cur / ref), shares floored at 1e-4, as the module docstring says."""
    total = 0.0
    for ref, cur in zip(reference, current, strict=True):
        ref, cur = max(ref, 1e-4), max(cur, 1e-4)
        total += (cur - ref) * math.log(cur / ref)
    return total


def test_tied_quantiles_of_an_integer_feature_merge_into_real_bins():
    current = counts_of((0, 30), (1, 10), (2, 10), (3, 50))
    reference = build_reference({"n": INTEGER_REFERENCE})
    feature = detect(reference, {"n": current}).feature("n")
    assert feature.bins == INTEGER_BINS
    # 1, 2 and 3 lie exactly on edges: each belongs to the bin that its edge opens.
    assert feature.reference_shares == pytest.approx([0.1, 0, 0.4, 0, 0.3, 0, 0.2])
    assert feature.current_shares == pytest.approx([0.3, 0, 0.1, 0, 0.1, 0, 0.5])
    expected = (0.3 - 0.1) * math.log(3) + (0.1 - 0.4) * math.log(0.25) + (
        0.1 - 0.3
    ) * math.log(1 / 3) + (0.5 - 0.2) * math.log(2.5)
    assert feature.psi == pytest.approx(expected, rel=1e-12)
    assert feature.to_dict()["bins"] == list(INTEGER_BINS)


def test_every_bin_edge_is_strictly_above_the_one_before():
    reference = build_reference({"n": np.tile([0.0, 1.0, 2.0, 3.0], 250)})
    bins = detect(reference, {"n": np.arange(4.0)}).feature("n").bins
    edges = [float(label.split(", ")[1].rstrip(")")) for label in bins[:-1]]
    assert edges == sorted(set(edges))
    assert len(bins) == len(edges) + 1


def test_a_value_exactly_on_a_bin_edge_belongs_to_the_bin_that_edge_opens():
    # The 10% and 80% quantiles (0.9 and 2.2, give or take a rounding of the interpolation)
    # are edges that no reference value sits on: on the edge means the upper bin.
    low, high = np.quantile(INTEGER_REFERENCE, [0.1, 0.8])
    current = counts_of((low, 50), (high, 50))
    feature = detect(build_reference({"n": INTEGER_REFERENCE}), {"n": current}).feature("n")
    assert feature.current_shares == pytest.approx([0, 0.5, 0, 0, 0, 0.5, 0])
    assert feature.psi == pytest.approx(
        psi_by_hand([0.1, 0, 0.4, 0, 0.3, 0, 0.2], [0, 0.5, 0, 0, 0, 0.5, 0]), rel=1e-12
    )


def test_bin_labels_spell_close_edges_apart():
    reference = build_reference({"n": np.repeat([1_000_000.0, 1_000_001.0, 1_000_002.0], 50)})
    bins = detect(reference, {"n": np.array([1_000_000.0])}).feature("n").bins
    assert len(set(bins)) == len(bins)
    assert all(low != high for low, high in (b[1:-1].split(", ") for b in bins))


# Quality: range and outlier bounds are inclusive, the range tolerance is a share of the span.

def test_a_value_exactly_on_a_range_bound_is_in_range_and_one_step_beyond_is_out():
    # Reference 10..20: span 10, tolerance 0.1 -> allowed [9, 21]. Starting away from 0 makes
    # a tolerance taken from the maximum (2) differ from one taken from the span (1).
    reference = build_quality_reference({"x": np.linspace(10.0, 20.0, 11)})
    window = np.array([9.0, 21.0, np.nextafter(9.0, -np.inf), np.nextafter(21.0, np.inf), 8.5])
    feature = check(reference, {"x": window}, QualitySettings(range_tolerance=0.1)).features[0]
    assert feature.expected_range == (9.0, 21.0)
    assert feature.out_of_range == 3


def test_the_range_tolerance_is_a_share_of_the_span_not_of_the_maximum():
    reference = build_quality_reference({"x": np.linspace(100.0, 110.0, 11)})
    feature = check(reference, {"x": np.array([98.5, 111.5, 99.0, 111.0])}).features[0]
    assert feature.expected_range == (99.0, 111.0)
    assert feature.out_of_range == 2


def test_a_value_exactly_on_an_outlier_bound_is_not_an_outlier():
    # IQR bounds of 0..8 (quartiles 2 and 6, factor 1.5): [-4, 12]; MAD is tested below.
    reference = build_quality_reference({"x": np.arange(9.0)})
    settings = QualitySettings(outlier_method="iqr", range_tolerance=10.0)
    window = np.array([-4.0, 12.0, np.nextafter(-4.0, -np.inf), np.nextafter(12.0, np.inf)])
    feature = check(reference, {"x": window}, settings).features[0]
    assert feature.outlier_bounds == (-4.0, 12.0)
    assert feature.outliers == 2


def test_a_value_exactly_on_the_mad_bound_is_not_an_outlier():
    reference = build_quality_reference({"x": np.arange(9.0)})
    settings = QualitySettings(range_tolerance=10.0)
    # median 4, MAD 2: reach 3.5 * 2 / 0.6745.
    reach = 3.5 * 2.0 / 0.6745
    low, high = 4.0 - reach, 4.0 + reach
    window = np.array([low, high, np.nextafter(low, -np.inf), np.nextafter(high, np.inf)])
    feature = check(reference, {"x": window}, settings).features[0]
    assert feature.outlier_bounds == (low, high)
    assert feature.outliers == 2


# Performance: the automatic class/regression cutoff, NaN rows, the confidence collapse.

def integral_pairs(distinct: int, rows: int = 200) -> tuple[np.ndarray, np.ndarray]:
    values = np.arange(rows, dtype=np.float64) % distinct
    return values, values.copy()


def test_exactly_twenty_distinct_integral_values_are_classes():
    assert MAX_AUTO_CLASSES == 20
    predictions, labels = integral_pairs(20)
    assert performance(predictions, labels).task == "classification"


def test_twenty_one_distinct_integral_values_are_a_regression():
    predictions, labels = integral_pairs(21)
    assert performance(predictions, labels).task == "regression"


def test_nan_rows_in_float_labels_are_not_labelled_and_do_not_poison_accuracy():
    labels = np.array([1.0, 0.0, NAN, 1.0, NAN, 0.0])
    predictions = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    report = performance(predictions, labels)
    assert report.n_labelled == 4
    assert report.accuracy == 0.75


def test_nan_rows_of_a_probability_matrix_are_left_out_of_the_auc():
    labels = np.array([0, 1, 2, 0, 1, 2, 0])
    predictions = labels.copy()
    matrix = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.1, 0.8],
            [0.7, 0.2, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.2, 0.7],
            [NAN, 0.9, 0.05],  # a class-0 row that would sink class 0's AUC if it were kept
        ]
    )
    report = performance(predictions, labels, matrix, probability_classes=["0", "1", "2"])
    assert report.roc_auc == 1.0


def test_nan_rows_of_a_two_column_matrix_are_left_out_of_the_binary_auc():
    labels = np.array([0, 1, 0, 1, 1])
    matrix = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9], [0.0, NAN]])
    report = performance(labels.copy(), labels, matrix, probability_classes=["0", "1"])
    assert report.roc_auc == 1.0


def confidence_window(mean: float, rows: int = 100) -> np.ndarray:
    """1-D positive-class probabilities whose confidence max(p, 1 - p) averages `mean`."""
    return np.full(rows, mean)


@pytest.mark.parametrize(
    ("drop", "collapse"),
    [(0.25, False), (0.375, True)],
    ids=["exactly-at-the-drop", "one-step-beyond"],
)
def test_confidence_collapses_only_when_the_drop_exceeds_the_threshold(drop, collapse):
    # Binary fractions keep the subtraction exact: 0.875 - 0.625 is exactly 0.25.
    predictions = np.ones(100)
    reference = prediction_profile(predictions, confidence_window(0.875))
    window = confidence_window(0.875 - drop)
    settings = AnomalySettings(confidence_drop=0.25)
    anomalies = prediction_anomalies(reference, predictions, window, settings)
    assert anomalies.confidence_collapse is collapse


def test_confidence_collapse_needs_min_samples_scored_rows_exactly():
    predictions = np.ones(100)
    reference = prediction_profile(predictions, confidence_window(0.875))
    settings = AnomalySettings(confidence_drop=0.25, min_samples=100)
    at_minimum = prediction_anomalies(reference, predictions, confidence_window(0.5), settings)
    below = prediction_anomalies(
        reference, predictions[:99], confidence_window(0.5, rows=99), settings
    )
    assert (at_minimum.confidence_collapse, below.confidence_collapse) == (True, False)
