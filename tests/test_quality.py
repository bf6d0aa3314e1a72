"""Data-quality engine: every count checked against values written out or computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import median_abs_deviation

from neural_tui import DataQualityMonitor
from neural_tui.engines.quality import (
    QualitySettings,
    QualityWeights,
    build_quality_reference,
    check,
)

NAN, INF = float("nan"), float("inf")


def objects(*values: object) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def numeric_reference(seed: int = 1, n: int = 2000) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).normal(50.0, 5.0, n)}


def feature(report, name):
    return next(f for f in report.features if f.name == name)


def test_each_kind_of_missing_value_is_counted_apart():
    reference = build_quality_reference({"x": np.arange(10.0)})
    current = objects(None, None, None, NAN, NAN, INF, -INF, -INF, -INF, -INF, "", 1.0)
    result = feature(check(reference, {"x": current}), "x")
    assert (result.null_count, result.nan_count, result.posinf_count) == (3, 2, 1)
    assert (result.neginf_count, result.empty_count) == (4, 1)
    assert result.missing_count == 11
    assert result.missing_rate == pytest.approx(11 / 12)
    assert result.checked == 1


def test_nan_and_infinities_in_a_float_column_are_missing_values():
    reference = build_quality_reference({"x": np.arange(10.0)})
    current = np.array([1.0, NAN, INF, -INF, 2.0])
    result = feature(check(reference, {"x": current}), "x")
    assert (result.nan_count, result.posinf_count, result.neginf_count) == (1, 1, 1)
    assert (result.null_count, result.empty_count, result.type_violations) == (0, 0, 0)


def test_missing_values_in_a_categorical_feature_are_not_categories():
    reference = build_quality_reference({"c": objects("a", "b", "a")})
    result = feature(check(reference, {"c": objects("a", None, "", NAN, "b")}), "c")
    assert (result.null_count, result.empty_count, result.nan_count) == (1, 1, 1)
    assert result.checked == 2
    assert result.new_category_count == 0


def test_strings_and_bools_where_the_reference_is_numeric_are_type_violations():
    reference = build_quality_reference({"x": np.arange(10.0)})
    current = objects(1.0, "abc", "2", True, 3, None)
    result = feature(check(reference, {"x": current}), "x")
    assert result.type_violations == 3
    assert result.checked == 2


def test_numbers_in_a_categorical_feature_are_labels_not_type_violations():
    reference = build_quality_reference({"c": objects("1", "2", "red")})
    result = feature(check(reference, {"c": objects(1, 2.0, "red", 3)}), "c")
    assert result.type_violations == 0
    assert result.new_categories == (("3", 1),)


def test_schema_reports_missing_and_unexpected_features():
    reference = build_quality_reference({"a": np.arange(4.0), "b": np.arange(4.0)})
    report = check(reference, {"a": np.arange(4.0), "z": np.arange(4.0)})
    assert report.missing_features == ("b",)
    assert report.unexpected_features == ("z",)
    assert [f.name for f in report.features] == ["a"]
    assert report.schema_violation_rate == pytest.approx(2 / 3)


def test_range_is_the_reference_range_widened_by_the_tolerance():
    reference = build_quality_reference({"x": np.linspace(0.0, 10.0, 11)})
    current = {"x": np.array([-0.5, 10.9, 11.5, -2.0, 5.0])}
    widened = feature(check(reference, current, QualitySettings(range_tolerance=0.1)), "x")
    assert widened.expected_range == pytest.approx((-1.0, 11.0))
    assert widened.out_of_range == 2
    strict = feature(check(reference, current, QualitySettings(range_tolerance=0.0)), "x")
    assert strict.out_of_range == 4


def test_new_categories_are_named_and_counted_most_frequent_first_and_bounded():
    reference = build_quality_reference({"c": objects("a", "b")})
    current = objects("a", "z", "z", "z", "y", "y", "x", "w", "b")
    result = feature(check(reference, {"c": current}, QualitySettings(max_new_categories=2)), "c")
    assert result.new_categories == (("z", 3), ("y", 2))
    assert result.new_category_count == 7
    assert result.new_category_distinct == 4


def test_outliers_are_modified_z_scores_above_3_5_against_the_reference_median_and_mad():
    ref = numeric_reference()["x"]
    rng = np.random.default_rng(2)
    current = np.concatenate([rng.normal(50.0, 5.0, 500), rng.normal(50.0, 40.0, 100)])
    median, mad = np.median(ref), median_abs_deviation(ref)
    expected = int(np.sum(np.abs(0.6745 * (current - median) / mad) > 3.5))
    assert expected > 10
    result = feature(check(build_quality_reference({"x": ref}), {"x": current}), "x")
    assert result.outliers == expected
    assert result.outlier_rate == pytest.approx(expected / 600)


def test_outliers_by_iqr_use_the_reference_quartiles():
    ref = numeric_reference()["x"]
    current = np.random.default_rng(3).normal(50.0, 15.0, 800)
    q1, q3 = np.percentile(ref, [25, 75])
    low, high = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    expected = int(np.sum((current < low) | (current > high)))
    assert expected > 10
    settings = QualitySettings(outlier_method="iqr")
    result = feature(
        check(build_quality_reference({"x": ref}, settings), {"x": current}, settings), "x"
    )
    assert result.outliers == expected


def test_a_batch_made_entirely_of_outliers_is_still_flagged():
    reference = build_quality_reference(numeric_reference())
    shifted = np.random.default_rng(4).normal(500.0, 5.0, 1000)
    report = check(reference, {"x": shifted})
    assert feature(report, "x").outliers == 1000
    assert report.outlier_rate == 1.0


def test_a_reference_with_zero_mad_detects_no_outliers_but_still_checks_range():
    reference = build_quality_reference({"x": np.array([0.0] * 90 + [1.0] * 10)})
    result = feature(check(reference, {"x": np.array([0.0, 1.0, 1.0, 5.0])}), "x")
    assert result.outlier_bounds is None
    assert result.outliers == 0
    assert result.out_of_range == 1


def test_clean_data_scores_one():
    rng = np.random.default_rng(5)
    data = {
        "x": rng.uniform(0.0, 1.0, 1000),
        "c": rng.choice(np.array(["a", "b"], dtype=object), 1000),
    }
    reference = build_quality_reference(data)
    report = check(reference, {name: column[:400] for name, column in data.items()})
    assert report.score == 1.0
    assert report.missing_values_rate == 0.0
    assert report.outlier_rate == 0.0


def test_score_is_one_minus_the_weighted_mean_of_the_rates():
    reference = build_quality_reference({"x": np.arange(8.0), "y": np.arange(8.0)})
    current = {"x": np.array([1.0, NAN, NAN, 2.0]), "y": np.array([1.0, 2.0, 3.0, 4.0])}
    report = check(reference, current)
    assert report.missing_values_rate == pytest.approx(2 / 8)
    assert report.score == pytest.approx(1 - 0.30 * (2 / 8) / 1.0)


def test_weights_are_configurable_and_relative():
    reference = build_quality_reference({"x": np.arange(8.0), "y": np.arange(8.0)})
    current = {"x": np.array([1.0, NAN, NAN, 2.0]), "z": np.array([1.0, 2.0, 3.0, 4.0])}
    weights = QualityWeights(
        missing=2.0,
        type_violations=0.0,
        out_of_range=0.0,
        outliers=0.0,
        new_categories=0.0,
        schema=2.0,
    )
    report = check(reference, current, QualitySettings(weights=weights))
    missing_rate, schema_rate = 2 / 4, 2 / 3
    assert report.score == pytest.approx(1 - (2.0 * missing_rate + 2.0 * schema_rate) / 4.0)


def test_totals_are_shares_of_cells_across_features():
    reference = build_quality_reference(
        {"x": np.linspace(0.0, 10.0, 101), "c": objects(*["a", "b"] * 50, "a")}
    )
    current = {
        "x": np.array([NAN, 1.0, 2.0, 1000.0]),
        "c": objects(None, "a", "a", "new"),
    }
    report = check(reference, current)
    assert report.missing_values_rate == pytest.approx(2 / 8)
    assert report.outlier_rate == pytest.approx(1 / 3)
    assert report.out_of_range_rate == pytest.approx(1 / 3)
    assert report.new_category_rate == pytest.approx(1 / 3)


def test_features_sort_by_severity_worst_first():
    reference = build_quality_reference(
        {"clean": np.arange(10.0), "bad": np.arange(10.0), "worse": np.arange(10.0)}
    )
    current = {
        "clean": np.array([1.0, 2.0, 3.0, 4.0]),
        "bad": np.array([1.0, NAN, 3.0, 4.0]),
        "worse": np.array([NAN, NAN, NAN, 4.0]),
    }
    ordered = check(reference, current).by_severity()
    assert [f.name for f in ordered] == ["worse", "bad", "clean"]
    assert ordered[-1].severity == 0.0


def test_kind_override_makes_numeric_codes_categorical():
    settings = QualitySettings(kinds={"code": "categorical"})
    reference = build_quality_reference({"code": np.array([1.0, 2.0, 3.0])}, settings)
    result = feature(check(reference, {"code": np.array([1.0, 4.0, 4.0])}, settings), "code")
    assert result.kind == "categorical"
    assert result.new_categories == (("4", 2),)


def test_report_to_dict_is_strict_json():
    reference = build_quality_reference({"x": np.arange(10.0), "c": objects(*["a"] * 10)})
    report = check(reference, {"x": objects(None, INF, "s", 99.0), "c": objects("b", "a", "", 1)})
    encoded = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert encoded["features"][0]["name"] == "x"
    assert encoded["features"][0]["posinf_count"] == 1
    assert encoded["features"][1]["new_categories"] == [
        {"name": "1", "count": 1},
        {"name": "b", "count": 1},
    ]
    assert 0.0 <= encoded["score"] < 1.0


def test_columns_of_different_lengths_are_rejected_naming_the_feature():
    reference = build_quality_reference({"x": np.arange(3.0)})
    with pytest.raises(ValueError, match="'y' has 2 rows"):
        check(reference, {"x": np.arange(3.0), "y": np.arange(2.0)})


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        (lambda: QualityWeights(missing=-1.0), "missing"),
        (lambda: QualitySettings(range_tolerance=-0.1), "range_tolerance"),
        (lambda: QualitySettings(outlier_method="zscore"), "outlier_method"),  # type: ignore[arg-type]
        (lambda: QualitySettings(kinds={"f": "text"}), "'f'"),  # type: ignore[dict-item]
    ],
)
def test_bad_settings_are_rejected_naming_the_key(settings, key):
    with pytest.raises(ValueError, match=key):
        settings()


def test_monitor_accepts_a_2d_array_whose_columns_are_features():
    rng = np.random.default_rng(6)
    monitor = DataQualityMonitor(feature_names=["a", "b"])
    monitor.set_reference(rng.normal(0.0, 1.0, (500, 2)))
    current = rng.normal(0.0, 1.0, (100, 2))
    current[:10, 1] = 100.0
    report = monitor.check_quality(current)
    assert [f.name for f in report.features] == ["a", "b"]
    assert feature(report, "b").outliers >= 10


def test_monitor_keeps_strings_in_mixed_rows_as_type_violations():
    monitor = DataQualityMonitor()
    monitor.set_reference([[1.0, "a"], [2.0, "b"], [3.0, "a"]])
    report = monitor.check_quality([[2.0, "a"], ["oops", "c"]])
    assert feature(report, "feature_0").type_violations == 1
    assert feature(report, "feature_1").new_categories == (("c", 1),)


def test_monitor_accepts_a_mapping_of_lists():
    monitor = DataQualityMonitor()
    monitor.set_reference({"age": [30, 40, 50], "city": ["x", "y", "x"]})
    report = monitor.check_quality({"age": [35, None], "city": ["x", ""]})
    assert feature(report, "age").null_count == 1
    assert feature(report, "city").empty_count == 1


def test_monitor_requires_a_reference_first():
    with pytest.raises(RuntimeError, match="set_reference"):
        DataQualityMonitor().check_quality({"x": [1.0]})
