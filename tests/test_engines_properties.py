"""Property-based checks of the engines against scipy and plain counts on generated data.

Examples are derandomised (the same every run) and bounded, so the suite stays fast and a
failure reproduces.
"""

from __future__ import annotations

import math
import warnings
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from neural_tui.engines import two_sample
from neural_tui.engines.drift import PSI_QUANTILES, _quantiles, build_reference, detect
from neural_tui.engines.performance import performance
from neural_tui.engines.quality import build_quality_reference, check

RTOL = 1e-9
checks = settings(max_examples=50, derandomize=True, deadline=None, database=None)

samples = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=120
)
"""A sample of finite values; `rounded` below makes heavy ties out of it."""


def _pair(reference: list[float], current: list[float], decimals: int | None):
    ref, cur = np.array(reference), np.array(current)
    if decimals is not None:
        ref, cur = np.round(ref, decimals), np.round(cur, decimals)
    return ref, cur


@checks
@given(samples, samples, st.sampled_from([None, 0, -3]), st.booleans())
def test_ks_statistic_and_p_value_are_scipys_with_the_method_reported(
    reference, current, decimals, exact_allowed
):
    ref, cur = _pair(reference, current, decimals)
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(ref[None, :], cur[None, :])
    p, exact = two_sample.ks_p_values(ks, n_ref, n_cur, np.array([exact_allowed]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns when it leaves the exact method itself
        expected = stats.ks_2samp(ref, cur, method="exact" if exact[0] else "asymp")
    assert ks[0] == pytest.approx(expected.statistic, rel=RTOL, abs=1e-15)
    # one value a side has an asymptotic effective size of 0: both say NaN
    np.testing.assert_allclose(p[0], expected.pvalue, rtol=1e-7, atol=1e-300, equal_nan=True)
    if not exact_allowed:
        assert not exact[0]


@checks
@given(samples, samples, st.sampled_from([None, 1, -2]))
def test_wasserstein_is_scipys(reference, current, decimals):
    ref, cur = _pair(reference, current, decimals)
    _, wasserstein, _, _ = two_sample.ks_and_wasserstein(ref[None, :], cur[None, :])
    expected = stats.wasserstein_distance(ref, cur)
    assert wasserstein[0] == pytest.approx(expected, rel=1e-8, abs=1e-6)


tables = st.integers(2, 6).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 60), min_size=k, max_size=k),
        st.lists(st.integers(0, 60), min_size=k, max_size=k),
    )
)


@checks
@given(tables)
def test_chi_square_is_scipys_chi2_contingency(table):
    reference, current = (np.array(row) for row in table)
    if reference.sum() == 0 or current.sum() == 0:
        return
    statistic, p = two_sample.chi_square(reference[None, :], current[None, :])
    used = (reference + current) > 0
    observed = np.array([reference[used], current[used]])
    if observed.shape[1] < 2:
        assert (statistic[0], p[0]) == (0.0, 1.0)
        return
    expected = stats.chi2_contingency(observed)
    assert statistic[0] == pytest.approx(expected.statistic, rel=RTOL, abs=1e-12)
    assert p[0] == pytest.approx(expected.pvalue, rel=RTOL, abs=1e-300)


@checks
@given(tables)
def test_jensen_shannon_is_scipys_distance_in_natural_log(table):
    reference, current = (np.array(row, dtype=np.float64) for row in table)
    if reference.sum() == 0 or current.sum() == 0:
        return
    ref, cur = reference / reference.sum(), current / current.sum()
    js = two_sample.jensen_shannon(ref[None, :], cur[None, :])[0]
    assert js == pytest.approx(jensenshannon(ref, cur), rel=1e-7, abs=1e-7)
    # the squared distance is the divergence; in base 2 it reads 1 / ln 2 times higher
    assert js**2 / math.log(2) == pytest.approx(
        jensenshannon(ref, cur, base=2) ** 2, rel=1e-7, abs=1e-12
    )


@checks
@given(st.lists(st.lists(st.integers(-5, 5), min_size=1, max_size=60), min_size=1, max_size=6))
def test_psi_edges_are_numpys_linear_quantiles_bit_for_bit(rows):
    width = max(len(row) for row in rows)
    values = np.full((len(rows), width), np.nan)
    for i, row in enumerate(rows):
        values[i, : len(row)] = np.sort(np.array(row, dtype=np.float64) / 3)
    counts = np.array([len(row) for row in rows])
    quantiles = _quantiles(values, counts)
    for i in range(len(rows)):
        expected = np.quantile(values[i, : counts[i]], PSI_QUANTILES)
        assert quantiles[i].tolist() == expected.tolist()


@checks
@given(st.lists(st.integers(0, 3), min_size=20, max_size=150), st.lists(st.integers(-1, 5),
       min_size=1, max_size=80))
def test_psi_bins_of_an_integer_feature_are_real_and_shares_add_up(reference, current):
    ref, cur = np.array(reference, dtype=float), np.array(current, dtype=float)
    feature = detect(build_reference({"n": ref}), {"n": cur}).feature("n")
    edges = [float(label.split(", ")[1].rstrip(")")) for label in feature.bins[:-1]]
    assert edges == sorted(set(edges))
    assert sum(feature.reference_shares) == pytest.approx(1.0)
    assert sum(feature.current_shares) == pytest.approx(1.0)
    bounds = [-math.inf, *np.unique(np.quantile(ref, PSI_QUANTILES)).tolist(), math.inf]
    by_hand = [np.mean((cur >= low) & (cur < high)) for low, high in pairwise(bounds)]
    assert list(feature.current_shares) == pytest.approx(by_hand)


cells = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.just(float("inf")),
    st.just(float("-inf")),
    st.just(""),
    st.floats(-100, 100, allow_nan=False),
    st.integers(-(10**30), 10**30),
    st.text(max_size=3),
    st.booleans(),
)


@checks
@given(st.lists(cells, min_size=1, max_size=80))
def test_quality_missing_counts_are_a_plain_count(values):
    column = np.empty(len(values), dtype=object)
    column[:] = values
    reference = build_quality_reference({"x": np.arange(10.0)})
    feature = check(reference, {"x": column}).features[0]

    def is_float(v, target):
        return isinstance(v, float) and (math.isnan(v) if target == "nan" else v == target)

    assert feature.null_count == sum(v is None for v in values)
    assert feature.empty_count == sum(v == "" and isinstance(v, str) for v in values)
    assert feature.nan_count == sum(is_float(v, "nan") for v in values)
    assert feature.posinf_count == sum(is_float(v, math.inf) for v in values)
    assert feature.neginf_count == sum(is_float(v, -math.inf) for v in values)
    assert feature.type_violations == sum(
        isinstance(v, bool) or (isinstance(v, str) and v != "") for v in values
    )


def _confusion(labels: list[int], predictions: list[int], classes: list[int]):
    return {
        (actual, predicted): sum(
            1 for a, p in zip(labels, predictions, strict=True) if a == actual and p == predicted
        )
        for actual in classes
        for predicted in classes
    }


@checks
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=100))
def test_binary_accuracy_and_f1_match_a_hand_confusion_matrix(pairs):
    labels, predictions = [a for a, _ in pairs], [p for _, p in pairs]
    report = performance(np.array(predictions), np.array(labels), task="classification")
    matrix = _confusion(labels, predictions, [0, 1])
    tp, fp, fn = matrix[1, 1], matrix[0, 1], matrix[1, 0]
    assert report.accuracy == pytest.approx((tp + matrix[0, 0]) / len(pairs))
    assert report.f1 == (pytest.approx(2 * tp / (2 * tp + fp + fn)) if 2 * tp + fp + fn else None)


@checks
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=100))
def test_macro_f1_matches_a_hand_confusion_matrix(pairs):
    labels, predictions = [a for a, _ in pairs], [p for _, p in pairs]
    classes = sorted(set(labels) | set(predictions))
    report = performance(np.array(predictions), np.array(labels), task="classification")
    if len(classes) <= 2:
        return  # binary figures, checked above
    matrix = _confusion(labels, predictions, classes)
    f1s = []
    for c in classes:
        tp = matrix[c, c]
        fp = sum(matrix[a, c] for a in classes if a != c)
        fn = sum(matrix[c, p] for p in classes if p != c)
        f1s.append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    assert report.accuracy == pytest.approx(sum(matrix[c, c] for c in classes) / len(pairs))
    assert report.f1 == pytest.approx(sum(f1s) / len(f1s))
