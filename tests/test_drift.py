"""The drift engine: statistics per feature, test choice, corrections, gates and the library API."""

import json
import tracemalloc

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from neural_tui.engines.concept import PageHinkley
from neural_tui.engines.drift import (
    DriftDetector,
    DriftSettings,
    build_reference,
    detect,
    top_probabilities,
)

RTOL = 1e-9


def _objects(values):
    column = np.empty(len(values), dtype=object)
    column[:] = list(values)
    return column


def _quantile_bin_shares(reference, values):
    """Shares of `values` in the 10 PSI bins: edges at the reference's 10..90% quantiles."""
    edges = np.quantile(reference, np.arange(1, 10) / 10)
    return np.bincount(np.searchsorted(edges, values, side="right"), minlength=10) / values.size


def test_numeric_feature_statistics_match_scipy():
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(5, 2, size=900), rng.normal(5.4, 2.3, size=700)
    report = detect(build_reference({"x": ref}), {"x": cur})
    f = report.feature("x")
    ks = stats.ks_2samp(ref, cur)
    wasserstein = stats.wasserstein_distance(ref, cur)
    ref_shares, cur_shares = _quantile_bin_shares(ref, ref), _quantile_bin_shares(ref, cur)
    assert f.ks_statistic == pytest.approx(ks.statistic, rel=RTOL)
    assert f.ks_p_value == pytest.approx(ks.pvalue, rel=RTOL)
    assert f.wasserstein == pytest.approx(wasserstein, rel=RTOL)
    assert f.wasserstein_normed == pytest.approx(wasserstein / np.std(ref), rel=RTOL)
    assert f.jensen_shannon == pytest.approx(jensenshannon(ref_shares, cur_shares), rel=RTOL)
    assert f.current_shares == pytest.approx(tuple(cur_shares))
    floored_ref, floored_cur = np.maximum(ref_shares, 1e-4), np.maximum(cur_shares, 1e-4)
    expected_psi = np.sum((floored_cur - floored_ref) * np.log(floored_cur / floored_ref))
    assert f.psi == pytest.approx(expected_psi, rel=RTOL)
    assert (f.n_reference, f.n_current) == (900, 700)


def test_psi_on_a_hand_computed_example():
    # Reference 1..10: 10..90% quantiles (linear) are 1.9, 2.8, ..., 9.1, so each value has its
    # own bin: bin 0 holds 1, bin k holds k+1 -> reference shares all 0.1.
    # Current [1, 1, 1, 1, 2, 3, 4, 5, 10, 10]: shares .4 .1 .1 .1 .1 0 0 0 0 .2
    # Bins with share 0 count as 1e-4. PSI terms:
    #   bin 0: (0.4-0.1) ln(4)          = 0.3 * 1.3862944 = 0.4158883
    #   bins 1-4: 0
    #   bins 5-8: (1e-4-0.1) ln(1e-3)   = -0.0999 * -6.9077553 = 0.6900847 each, x4 = 2.7603390
    #   bin 9: (0.2-0.1) ln(2)          = 0.1 * 0.6931472 = 0.0693147
    #   total                           = 3.2455420
    ref = np.arange(1, 11, dtype=float)
    cur = np.array([1, 1, 1, 1, 2, 3, 4, 5, 10, 10], dtype=float)
    f = detect(build_reference({"x": ref}), {"x": cur}).feature("x")
    assert f.reference_shares == pytest.approx((0.1,) * 10)
    assert f.current_shares == pytest.approx((0.4, 0.1, 0.1, 0.1, 0.1, 0, 0, 0, 0, 0.2))
    assert f.psi == pytest.approx(3.2455420, abs=1e-7)
    assert f.bins[0] == "(-inf, 1.9)" and f.bins[-1] == "[9.1, inf)"


def test_ties_are_handled_as_scipy_does():
    rng = np.random.default_rng(2)
    ref = rng.integers(0, 20, size=600).astype(float)
    cur = rng.integers(1, 22, size=400).astype(float)
    f = detect(build_reference({"x": ref}), {"x": cur}).feature("x")
    expected = stats.ks_2samp(ref, cur)
    assert f.test == "ks"
    assert f.ks_statistic == pytest.approx(expected.statistic, rel=RTOL)
    assert f.p_value == pytest.approx(expected.pvalue, rel=RTOL)
    assert f.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=RTOL)


def test_missing_and_non_finite_values_are_left_out():
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=500), rng.normal(0.2, 1, size=300)
    holes = _objects([*cur.tolist(), None, float("nan"), float("inf"), "n/a", -float("inf")])
    ref_holes = np.concatenate([ref, [np.nan, np.nan]])
    f = detect(build_reference({"x": ref_holes}), {"x": holes}).feature("x")
    ks = stats.ks_2samp(ref, cur)
    assert (f.n_reference, f.n_current) == (500, 300)
    assert f.ks_p_value == pytest.approx(ks.pvalue, rel=RTOL)
    assert f.wasserstein == pytest.approx(stats.wasserstein_distance(ref, cur), rel=RTOL)


def test_categorical_feature_matches_chi2_contingency_and_unseen_categories_get_own_bins():
    ref = _objects(["a"] * 50 + ["b"] * 30 + ["c"] * 20 + [None] * 5)
    cur = _objects(["a"] * 40 + ["b"] * 20 + ["c"] * 25 + ["d"] * 10 + ["e"] * 5 + [""] * 3)
    f = detect(build_reference({"color": ref}), {"color": cur}).feature("color")
    table = np.array([[50, 30, 20, 0, 0], [40, 20, 25, 10, 5]])
    expected = stats.chi2_contingency(table)
    assert f.kind == "categorical" and f.test == "chi2"
    assert f.bins == ("a", "b", "c", "d", "e")
    assert (f.n_reference, f.n_current) == (100, 100)
    assert f.chi2_statistic == pytest.approx(expected.statistic, rel=RTOL)
    assert f.chi2_p_value == pytest.approx(expected.pvalue, rel=RTOL)
    ref_shares, cur_shares = table[0] / 100, table[1] / 100
    assert f.jensen_shannon == pytest.approx(jensenshannon(ref_shares, cur_shares), rel=RTOL)
    floored_ref, floored_cur = np.maximum(ref_shares, 1e-4), np.maximum(cur_shares, 1e-4)
    expected_psi = np.sum((floored_cur - floored_ref) * np.log(floored_cur / floored_ref))
    assert f.psi == pytest.approx(expected_psi, rel=RTOL)


def test_two_category_feature_is_decided_by_the_z_test():
    ref = _objects([True] * 120 + [False] * 80)
    cur = _objects([True] * 90 + [False] * 130)
    f = detect(build_reference({"flag": ref}), {"flag": cur}).feature("flag")
    # categories sort as "false", "true"
    table = np.array([[80, 120], [130, 90]])
    assert f.test == "z"
    assert f.statistic**2 == pytest.approx(
        stats.chi2_contingency(table, correction=False).statistic, rel=RTOL
    )
    assert f.p_value == pytest.approx(stats.chi2_contingency(table, correction=False).pvalue)
    assert f.chi2_statistic == pytest.approx(stats.chi2_contingency(table).statistic, rel=RTOL)
    assert f.drifted


def test_z_test_statistic_is_the_size_of_z_and_its_sign_stays_in_z_statistic():
    # the first category ("a") falls from 60% to 40%: z is negative
    ref = _objects(["a"] * 120 + ["b"] * 80)
    cur = _objects(["a"] * 80 + ["b"] * 120)
    f = detect(build_reference({"c": ref}), {"c": cur}).feature("c")
    expected = stats.chi2_contingency(np.array([[120, 80], [80, 120]]), correction=False)
    assert f.test == "z"
    assert f.z_statistic < 0
    assert f.statistic == pytest.approx(np.sqrt(expected.statistic), rel=RTOL)
    assert f.to_dict()["statistic"] > 0


def test_effect_size_is_the_mass_that_moved_whatever_the_test():
    # reference above 1,000 rows: distance tests decide, and still report an effect size
    rng = np.random.default_rng(18)
    ref_x, cur_x = rng.normal(size=1500), rng.normal(0.4, 1, size=600)
    ref_c = _objects(["a"] * 900 + ["b"] * 450 + ["c"] * 150)
    cur_c = _objects(["a"] * 240 + ["b"] * 300 + ["c"] * 60)
    report = detect(build_reference({"x": ref_x, "c": ref_c}), {"x": cur_x, "c": cur_c})
    x, c = report.feature("x"), report.feature("c")
    assert (x.test, c.test) == ("wasserstein", "jensen_shannon")
    assert x.effect_size == pytest.approx(stats.ks_2samp(ref_x, cur_x).statistic, rel=RTOL)
    # shares a, b, c: reference .6 .3 .1, current .4 .5 .1 -> half of |.2| + |.2| + 0 = 0.2
    assert c.effect_size == pytest.approx(0.2, rel=RTOL)


def test_z_test_becomes_chi_square_when_the_window_brings_a_third_category():
    ref = _objects(["x"] * 60 + ["y"] * 40)
    cur = _objects(["x"] * 50 + ["y"] * 30 + ["z"] * 20)
    f = detect(build_reference({"c": ref}), {"c": cur}).feature("c")
    assert f.test == "chi2"
    expected = stats.chi2_contingency(np.array([[60, 40, 0], [50, 30, 20]]))
    assert f.p_value == pytest.approx(expected.pvalue, rel=RTOL)


def test_constant_reference_uses_the_standard_deviation_floor():
    ref = np.full(2000, 3.0)
    cur = np.full(500, 3.01)
    f = detect(build_reference({"x": ref}), {"x": cur}).feature("x")
    assert f.wasserstein == pytest.approx(0.01, rel=1e-6)
    assert f.wasserstein_normed == pytest.approx(0.01 / 0.001, rel=1e-6)


def test_empty_current_window_reports_no_drift_and_says_why():
    rng = np.random.default_rng(4)
    reference = build_reference({"x": rng.normal(size=300), "c": _objects(["a", "b"] * 150)})
    report = detect(reference, {"x": np.empty(0), "c": _objects([])})
    assert report.n_current == 0
    assert not report.dataset_drift and report.drifted_share == 0.0
    for f in report.features:
        assert not f.drifted and f.statistic is None and f.reason == "no current values"
    json.dumps(report.to_dict(), allow_nan=False)


def test_a_feature_absent_from_the_window_counts_as_missing():
    rng = np.random.default_rng(5)
    reference = build_reference({"x": rng.normal(size=300), "y": rng.normal(size=300)})
    report = detect(reference, {"x": rng.normal(size=100)})
    assert report.feature("y").reason == "no current values"
    assert report.feature("x").n_current == 100


@pytest.mark.parametrize(
    ("rows", "values", "expected"),
    [
        (1000, lambda rng, n: rng.normal(size=n), "ks"),
        (1000, lambda rng, n: rng.integers(0, 5, size=n).astype(float), "chi2"),
        (1000, lambda rng, n: _objects(rng.choice(["a", "b", "c"], size=n)), "chi2"),
        (1000, lambda rng, n: _objects(rng.choice(["a", "b"], size=n)), "z"),
        (1001, lambda rng, n: rng.normal(size=n), "wasserstein"),
        (1001, lambda rng, n: rng.integers(0, 5, size=n).astype(float), "jensen_shannon"),
        (1001, lambda rng, n: _objects(rng.choice(["a", "b", "c"], size=n)), "jensen_shannon"),
    ],
)
def test_the_deciding_test_is_chosen_by_reference_size_and_distinct_values(rows, values, expected):
    rng = np.random.default_rng(6)
    f = detect(build_reference({"f": values(rng, rows)}), {"f": values(rng, 200)}).feature("f")
    assert f.test == expected


def test_a_numeric_feature_with_six_distinct_values_is_tested_with_ks():
    rng = np.random.default_rng(7)
    values = rng.integers(0, 6, size=500).astype(float)
    f = detect(build_reference({"f": values}), {"f": values[:200]}).feature("f")
    assert f.test == "ks"


def test_per_feature_overrides_of_test_and_kind():
    rng = np.random.default_rng(8)
    settings = DriftSettings(feature_tests={"x": "psi"}, feature_kinds={"zip": "categorical"})
    columns = {"x": rng.normal(size=500), "zip": rng.integers(0, 50, size=500).astype(float)}
    report = detect(build_reference(columns, settings), columns)
    assert report.feature("x").test == "psi" and report.feature("x").threshold == 0.2
    assert report.feature("zip").kind == "categorical" and report.feature("zip").test == "chi2"


def test_bad_overrides_are_rejected_naming_the_key():
    with pytest.raises(ValueError, match=r"feature_tests\.x: unknown test 'kss'"):
        DriftSettings(feature_tests={"x": "kss"})
    with pytest.raises(ValueError, match=r"feature_kinds\.x"):
        DriftSettings(feature_kinds={"x": "text"})
    with pytest.raises(ValueError, match=r"correction"):
        DriftSettings(correction="holm")
    with pytest.raises(ValueError, match=r"feature_tests\.c: 'ks' needs a numeric feature"):
        build_reference({"c": _objects(["a", "b"])}, DriftSettings(feature_tests={"c": "ks"}))


def test_corrections_flag_features_by_their_adjusted_p_values():
    rng = np.random.default_rng(9)
    ref = rng.normal(size=(1000, 20))
    shifts = np.zeros(20)
    shifts[:4] = [1.0, 0.2, 0.15, 0.12]
    cur = rng.normal(size=(1000, 20)) + shifts
    report = DriftDetector(DriftSettings(correction="bh")).set_reference(ref).detect_drift(cur)
    p = {f.name: f.p_value for f in report.features}
    names = sorted(p, key=p.get)
    ranked = np.array([p[n] for n in names])
    # Benjamini-Hochberg by hand: largest rank i with p_(i) <= i/20 * alpha rejects ranks 1..i
    below = np.flatnonzero(ranked <= np.arange(1, 21) / 20 * 0.05)
    bh = set(names[: below[-1] + 1]) if below.size else set()
    bonferroni = {n for n in names if p[n] * 20 < 0.05}
    uncorrected = {n for n in names if p[n] < 0.05}
    assert set(report.corrections["bh"].drifted) == bh
    assert set(report.corrections["bonferroni"].drifted) == bonferroni
    assert set(report.corrections["none"].drifted) == uncorrected
    assert bonferroni < uncorrected
    assert {f.name for f in report.features if f.drifted} == bh
    assert report.drifted_share == len(bh) / 20
    first = report.feature("feature_0")
    assert first.p_value_bonferroni == pytest.approx(min(1.0, first.p_value * 20))


def test_dataset_drift_when_at_least_half_the_features_drift():
    rng = np.random.default_rng(10)
    ref = rng.normal(size=(800, 4))
    cur = rng.normal(size=(800, 4)) + np.array([1.0, 1.0, 0.0, 0.0])
    report = DriftDetector().set_reference(ref).detect_drift(cur)
    assert report.drifted_features == ("feature_0", "feature_1")
    assert report.drifted_share == 0.5 and report.dataset_drift
    assert report.scores()["distribution"] == 0.5


def test_features_are_sorted_worst_first():
    rng = np.random.default_rng(11)
    ref = rng.normal(size=(900, 3))
    cur = rng.normal(size=(900, 3)) + np.array([0.1, 0.8, 0.3])
    report = DriftDetector().set_reference(ref).detect_drift(cur)
    assert [f.name for f in report.features] == ["feature_1", "feature_2", "feature_0"]
    assert report.features[0].severity > report.features[1].severity > 1


@pytest.mark.parametrize("reference_rows", [1000, 20000])
def test_no_drift_windows_from_the_reference_distribution_are_rarely_flagged(reference_rows):
    # 200 windows at alpha 0.05: flags per feature are about Binomial(200, 0.05), mean 10,
    # sd 3.1 (more spread in practice, as every window meets the same reference sample).
    # Allowing mean + 3 sd (19 flags, 9.5%) keeps a correct engine passing, while a p-value
    # computed for the wrong sample size or a PSI-style fixed threshold flags far more.
    rng = np.random.default_rng(12)

    def window(n):
        return {
            "amount": rng.lognormal(3, 1, size=n),
            "items": rng.poisson(1.5, size=n).clip(0, 4).astype(float),
            "country": _objects(rng.choice(["de", "fr", "us"], p=[0.5, 0.3, 0.2], size=n)),
            "mobile": _objects(rng.random(n) < 0.3),
        }

    reference = build_reference(window(reference_rows))
    flags = dict.fromkeys(window(1), 0)
    for _ in range(200):
        for f in detect(reference, window(1000)).features:
            flags[f.name] += f.drifted
    assert max(flags.values()) <= 19, flags


def test_the_effect_size_gate_ignores_a_tiny_shift_on_a_million_rows():
    rng = np.random.default_rng(13)
    settings = DriftSettings(feature_tests={"x": "ks"})
    reference = build_reference({"x": rng.normal(size=100_000)}, settings)
    tiny = detect(reference, {"x": rng.normal(0.03, 1, size=1_000_000)}).feature("x")
    real = detect(reference, {"x": rng.normal(0.3, 1, size=1_000_000)}).feature("x")
    assert tiny.p_value < 1e-6 and tiny.effect_size < 0.05 and not tiny.drifted
    assert real.drifted and real.effect_size > 0.05


def test_a_million_row_window_stays_within_bounded_memory_and_agrees_with_scipy():
    rng = np.random.default_rng(14)
    names = ["a", "b", "c"]
    reference = build_reference({n: rng.normal(size=10_000) for n in names})
    window = {n: rng.normal(0.01, 1, size=1_000_000) for n in names}
    tracemalloc.start()
    report = detect(reference, window)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 300 * 2**20
    ref_a = reference.numeric.values[0]
    assert report.feature("a").ks_statistic == pytest.approx(
        stats.ks_2samp(ref_a, window["a"]).statistic, rel=RTOL
    )
    assert report.n_current == 1_000_000


def test_prediction_and_top_probability_drift_are_reported_apart_from_features():
    rng = np.random.default_rng(15)
    labels_ref = _objects(rng.choice(["cat", "dog"], p=[0.5, 0.5], size=800))
    labels_cur = _objects(rng.choice(["cat", "dog"], p=[0.2, 0.8], size=800))
    proba_ref = _objects([{"cat": p, "dog": 1 - p} for p in rng.uniform(size=800)])
    proba_cur = _objects([{"cat": p, "dog": 1 - p} for p in rng.uniform(0.4, 0.6, size=800)])
    reference = build_reference(
        {"x": rng.normal(size=800)},
        predictions=labels_ref,
        top_probability=top_probabilities(proba_ref),
    )
    tracker = PageHinkley()
    state = tracker.update(np.zeros(100))
    report = detect(
        reference,
        {"x": rng.normal(size=800)},
        predictions=labels_cur,
        top_probability=top_probabilities(proba_cur),
        concept=state,
    )
    assert [f.name for f in report.features] == ["x"]
    assert report.prediction.test == "z" and report.prediction.drifted
    assert report.top_probability.test == "ks" and report.top_probability.drifted
    scores = report.scores()
    # "cat" (the first category) falls from ~50% to ~20%, so z is negative; the score is the
    # prediction's effect size, the total variation between the cat/dog shares
    ref_cat = np.mean(labels_ref == "cat")
    cur_cat = np.mean(labels_cur == "cat")
    assert report.prediction.z_statistic < 0
    assert scores["prediction"] == pytest.approx(ref_cat - cur_cat, rel=RTOL)
    assert scores["concept"] == 0.0
    assert report.to_dict()["concept"]["samples"] == 100


def test_top_probabilities_take_the_largest_number_and_nan_when_absent():
    proba = _objects([{"a": 0.2, "b": 0.7, "c": 0.1}, None, {}, {"a": "x", "b": 0.4}])
    got = top_probabilities(proba)
    assert got[0] == 0.7 and np.isnan(got[1]) and np.isnan(got[2]) and got[3] == 0.4


def test_to_dict_has_the_keys_drift_json_promises():
    rng = np.random.default_rng(16)
    columns = {"x": rng.normal(size=300), "c": _objects(rng.choice(["a", "b", "c"], size=300))}
    report = detect(build_reference(columns), columns).to_dict()
    common = {"name", "kind", "test", "statistic", "p_value", "drifted"}
    numeric = {
        "ks_statistic",
        "ks_p_value",
        "psi",
        "wasserstein",
        "wasserstein_normed",
        "jensen_shannon",
    }
    categorical = {"chi2_statistic", "chi2_p_value", "psi", "jensen_shannon"}
    by_name = {f["name"]: f for f in report["features"]}
    assert common | numeric <= by_name["x"].keys()
    assert common | categorical <= by_name["c"].keys()
    assert "wasserstein" not in by_name["c"]
    assert {"dataset_drift", "drifted_share", "corrections", "scores"} <= report.keys()
    json.dumps(report, allow_nan=False)


def test_drift_detector_is_importable_from_the_package_and_names_columns():
    from neural_tui import DriftDetector as Exported

    rng = np.random.default_rng(17)
    detector = Exported(feature_names=["age", "income"]).set_reference(rng.normal(size=(400, 2)))
    report = detector.detect_drift(rng.normal(size=(100, 2)))
    assert {f.name for f in report.features} == {"age", "income"}
    by_mapping = (
        Exported()
        .set_reference({"a": rng.normal(size=50)})
        .detect_drift({"a": rng.normal(size=20)})
    )
    assert by_mapping.feature("a").n_current == 20


def test_drift_detector_refuses_to_detect_before_a_reference():
    with pytest.raises(RuntimeError, match="set_reference"):
        DriftDetector().detect_drift(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2 feature names for 3 columns"):
        DriftDetector(feature_names=["a", "b"]).set_reference(np.zeros((4, 3)))


def test_ks_p_value_is_exact_where_ks_decides_and_asymptotic_elsewhere_as_reported():
    rng = np.random.default_rng(31)
    small_ref, large_ref = rng.normal(size=800), rng.normal(size=5_000)
    cur = rng.normal(0.1, 1, size=500)
    settings = DriftSettings(feature_tests={"forced": "ks"})
    padded = np.concatenate([small_ref, np.full(4_200, np.nan)])  # NaN is left out: 800 values
    reference = build_reference({"small": padded, "large": large_ref, "forced": large_ref},
                                settings)
    report = detect(reference, {"small": cur, "large": cur, "forced": cur})
    small, large, forced = (report.feature(n) for n in ("small", "large", "forced"))
    assert (small.test, large.test, forced.test) == ("ks", "wasserstein", "ks")
    assert small.ks_p_value_method == "exact"
    assert small.ks_p_value == pytest.approx(
        stats.ks_2samp(small_ref, cur, method="exact").pvalue, rel=RTOL
    )
    assert large.ks_p_value_method == "asymp"
    assert large.ks_p_value == pytest.approx(
        stats.ks_2samp(large_ref, cur, method="asymp").pvalue, rel=RTOL
    )
    assert forced.ks_p_value_method == "exact"
    assert forced.ks_p_value == pytest.approx(
        stats.ks_2samp(large_ref, cur, method="exact").pvalue, rel=RTOL
    )
    entries = {f["name"]: f for f in report.to_dict()["features"]}
    assert entries["large"]["ks_p_value_method"] == "asymp"
    assert entries["small"]["ks_p_value_method"] == "exact"
