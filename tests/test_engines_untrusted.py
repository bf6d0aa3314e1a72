"""Untrusted values from a log never stop an engine: each is counted and the rest still report.

A JSON integer may have hundreds of digits (beyond float range), a float may sit at the float
limit, and an object or list may stand where a number belongs. Each case builds a reference and
checks a window that both contain such values.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from neural_tui.engines.columns import columns_from_records, to_categorical, to_numeric
from neural_tui.engines.concept import PageHinkley
from neural_tui.engines.drift import build_reference, detect, top_probabilities
from neural_tui.engines.performance import performance, prediction_anomalies, prediction_profile
from neural_tui.engines.quality import build_quality_reference, check

HUGE = 10**400
"""A 401-digit integer: valid JSON, and `float(HUGE)` raises OverflowError."""


def objects(*values: object) -> np.ndarray:
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def records(n: int, bad: dict[int, object], seed: int) -> list[dict[str, object]]:
    """`n` records of a clean numeric `x`, a clean category `c`, and `v` holding `bad` at rows."""
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = [
        {"x": float(rng.normal()), "c": ["a", "b"][i % 2], "v": float(rng.normal(10, 1))}
        for i in range(n)
    ]
    for row, value in bad.items():
        rows[row]["v"] = value
    return rows


BAD_NUMBERS = {
    "a huge integer": HUGE,
    "a huge negative integer": -HUGE,
    "an object": {"nested": {"deeper": [1, 2]}},
    "a list": [1, [2, [3]]],
    "a string of digits": "1" * 500,
    "a bool": True,
}


@pytest.mark.parametrize("value", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_a_bad_value_in_a_numeric_feature_is_counted_and_every_engine_still_reports(value):
    reference = columns_from_records(records(400, {3: value, 7: value}, seed=1))
    window = columns_from_records(records(200, {5: value, 9: value, 11: value}, seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = detect(build_reference(reference), window)
        quality = check(build_quality_reference(reference), window)
    assert {f.name for f in drift.features} == {"x", "c", "v"}
    assert all(f.reason is None for f in drift.features)
    v = next(f for f in quality.features if f.name == "v")
    assert v.kind == "numeric"
    if isinstance(value, int) and not isinstance(value, bool):
        assert (v.out_of_range, v.outliers, v.checked, v.type_violations) == (3, 3, 200, 0)
        assert v.missing_count == 0
        assert drift.feature("v").n_current == 197
    else:
        assert (v.type_violations, v.checked, v.out_of_range) == (3, 197, 0)
    assert drift.feature("v").n_reference == 398
    json.dumps(drift.to_dict(), allow_nan=False)
    json.dumps(quality.to_dict(), allow_nan=False)


def test_a_huge_integer_is_left_out_of_the_reference_statistics():
    column = objects(1.0, 2.0, 3.0, 4.0, HUGE)
    reference = build_quality_reference({"v": column})
    assert (reference.features[0].minimum, reference.features[0].maximum) == (1.0, 4.0)
    assert reference.features[0].median == 2.5


def test_to_numeric_reads_a_huge_integer_as_infinity_with_its_sign():
    assert to_numeric(objects(HUGE, -HUGE, 2, "3", None)).tolist()[:3] == [
        float("inf"), float("-inf"), 2.0,
    ]


def test_values_python_cannot_spell_get_a_label_naming_their_type():
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    assert to_categorical(objects(deep, HUGE)).tolist() == ["<list>", str(HUGE)]


def test_floats_at_the_float_limit_keep_the_engines_finite_and_quiet():
    rng = np.random.default_rng(3)
    ref = rng.normal(size=500)
    ref[:5] = [1.7e308, -1.7e308, 1.6e308, -1e308, 1e308]
    cur = rng.normal(size=300)
    cur[:2] = [1.7e308, -1.7e308]
    reference = {"v": ref, "x": rng.normal(size=500)}
    window = {"v": cur, "x": rng.normal(size=300)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = detect(build_reference(reference), window)
        quality = check(build_quality_reference(reference), window)
    assert len(drift.feature("v").bins) == 10
    assert drift.feature("x").ks_p_value is not None
    json.dumps(drift.to_dict(), allow_nan=False)
    json.dumps(quality.to_dict(), allow_nan=False)


def test_huge_integers_among_labels_and_predictions_are_classes_like_any_other():
    labels = objects(*([HUGE, 1, 2] * 20))
    predictions = objects(*([HUGE, 1, 1] * 20))
    report = performance(predictions, labels)
    assert report.task == "classification"
    assert report.n_labelled == 60
    assert report.accuracy == pytest.approx(2 / 3)
    assert str(HUGE) in report.classes


def test_a_huge_integer_in_a_regression_pair_is_left_out_of_the_errors():
    labels = objects(*([1.5, 2.5, 3.5, 0.25] * 10))
    predictions = objects(*([HUGE, 2.0, 3.0, 0.75] * 10))
    report = performance(predictions, labels)
    assert report.task == "regression"
    assert report.n_labelled == 30
    assert report.mae == pytest.approx(0.5)


def test_huge_and_non_numeric_probabilities_are_not_scores():
    labels = objects(*([1, 0] * 60))
    predictions = objects(*([1, 0] * 60))
    probabilities = objects(*([0.9, 0.2] * 59), HUGE, "0.3")
    report = performance(predictions, labels, probabilities)
    assert report.roc_auc == 1.0
    profile = prediction_profile(predictions, probabilities)
    assert profile.scored_rows == 118
    anomalies = prediction_anomalies(profile, predictions, probabilities)
    assert anomalies.mean_confidence == pytest.approx(profile.mean_confidence)


def test_top_probability_of_a_huge_integer_is_infinite_and_left_out_of_drift():
    tops = top_probabilities(objects({"a": HUGE, "b": 0.1}, {"a": 0.2, "b": True}, {"a": "x"}))
    assert tops[0] == float("inf")
    assert tops[1] == 0.2
    assert np.isnan(tops[2])


def test_page_hinkley_skips_errors_that_are_not_finite_numbers():
    detector = PageHinkley(min_samples=1)
    state = detector.update(objects(1.0, HUGE, None, float("inf"), float("nan"), 0.0, "1"))
    assert state.samples == 2
    assert state.mean_error == 0.5


def test_a_huge_integer_in_prediction_proba_does_not_stop_the_probability_matrix():
    from neural_tui.runtime.analysis import _probability_matrix

    matrix, classes = _probability_matrix([{"a": HUGE, "b": 0.5}, {"a": 0.25, "b": [1]}, None])
    assert classes == ("a", "b")
    assert matrix is not None
    np.testing.assert_array_equal(matrix, [[np.inf, 0.5], [0.25, np.nan], [np.nan, np.nan]])


def test_a_model_whose_records_carry_huge_integers_still_gets_every_report(tmp_path, caplog):
    from neural_tui.config import (
        AnalysisSection,
        DriftSection,
        RuntimeSection,
        Settings,
        StorageSection,
    )
    from neural_tui.runtime import analysis as analysis_module
    from neural_tui.runtime.analysis import Analysis
    from neural_tui.runtime.state import ModelState
    from tests.batches import make_batch

    settings = Settings(
        storage=StorageSection(tmp_path),
        runtime=RuntimeSection(cadence_seconds=0.01),
        analysis=AnalysisSection(interval_seconds=0.01, every_records=1),
        drift=DriftSection(window=200, reference_rows=200),
    )
    state = ModelState("m", "1", analysis_module.state_limits(settings))
    rng = np.random.default_rng(5)
    for start in (0, 200):
        rows = [{"x": float(v), "v": HUGE if i % 50 == 0 else float(i)}
                for i, v in enumerate(rng.normal(size=200))]
        predictions = [HUGE if i % 40 == 0 else i % 2 for i in range(200)]
        labels = [-HUGE if i % 30 == 0 else i % 2 for i in range(200)]
        proba = [json.dumps({"0": HUGE if i % 20 == 0 else 0.4, "1": 0.6}).encode()
                 for i in range(200)]
        state.ingest(make_batch(
            [1_700_000_000.0 + start + i for i in range(200)],
            ids=[f"p{start + i}" for i in range(200)],
            features=[json.dumps(row).encode() for row in rows],
            predictions=predictions, ground_truth=labels, proba=proba,
        ))
    result = Analysis(settings).analyse_now(("m", "1"), state)
    assert "failed" not in caplog.text
    assert result.drift is not None and result.drift.feature("x") is not None
    assert result.quality is not None
    v = next(f for f in result.quality.features if f.name == "v")
    assert v.out_of_range == 4
    assert result.performance is not None and result.performance.n_labelled > 0


def test_a_float_near_the_limit_is_out_of_range_and_never_hides_drift():
    """1.7e308 is a valid JSON number whose square overflows: read as +-inf like a 400-digit
    integer, it is counted out of range in quality and left out of drift, where a shift of
    three standard deviations is still found by the deciding Wasserstein test."""
    rng = np.random.default_rng(4)
    ref = objects(*rng.normal(size=1200).tolist())
    cur = objects(*rng.normal(3.0, 1.0, size=1200).tolist())
    ref[:3] = [1.7e308, -1.7e308, 1e200]
    cur[:2] = [1.7e308, -1e151]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drift = detect(build_reference({"v": ref}), {"v": cur})
        quality = check(build_quality_reference({"v": ref}), {"v": cur})
    v = drift.feature("v")
    assert v.test == "wasserstein"
    assert v.statistic is not None and np.isfinite(v.statistic)
    assert v.drifted
    assert (v.n_reference, v.n_current) == (1197, 1198)
    (q,) = quality.features
    assert q.missing_count == 0
    assert q.out_of_range >= 2
    assert to_numeric(np.array([1e151, -1e151, 1e150, np.inf])).tolist() == [
        float("inf"), float("-inf"), 1e150, float("inf")]
