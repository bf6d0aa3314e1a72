"""The vectorised two-sample statistics agree with scipy, row by row, on seeded data."""

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from neural_tui.engines import two_sample

RTOL = 1e-9


def _rows_with_gaps(rng, n_rows, width, missing):
    """Rows of normal values with a different number of NaN gaps per row."""
    matrix = rng.normal(size=(n_rows, width))
    for i, k in enumerate(missing):
        matrix[i, rng.choice(width, size=k, replace=False)] = np.nan
    return matrix


def test_ks_and_wasserstein_match_scipy_on_each_row_with_missing_values_left_out():
    rng = np.random.default_rng(11)
    reference = _rows_with_gaps(rng, 4, 700, [0, 5, 100, 699])
    current = _rows_with_gaps(rng, 4, 450, [3, 0, 200, 0]) + np.array([[0], [0.3], [1], [-2]])
    ks, wasserstein, n_ref, n_cur = two_sample.ks_and_wasserstein(reference, current)
    for i in range(4):
        ref = reference[i][~np.isnan(reference[i])]
        cur = current[i][~np.isnan(current[i])]
        assert (n_ref[i], n_cur[i]) == (ref.size, cur.size)
        assert ks[i] == pytest.approx(stats.ks_2samp(ref, cur).statistic, rel=RTOL)
        assert wasserstein[i] == pytest.approx(stats.wasserstein_distance(ref, cur), rel=RTOL)


def test_ks_and_wasserstein_handle_ties_within_and_across_samples():
    rng = np.random.default_rng(12)
    reference = rng.integers(0, 12, size=(3, 500)).astype(float)
    current = rng.integers(2, 14, size=(3, 300)).astype(float)
    ks, wasserstein, _, _ = two_sample.ks_and_wasserstein(reference, current)
    for i in range(3):
        assert ks[i] == pytest.approx(stats.ks_2samp(reference[i], current[i]).statistic, rel=RTOL)
        assert wasserstein[i] == pytest.approx(
            stats.wasserstein_distance(reference[i], current[i]), rel=RTOL
        )


def test_rows_without_values_on_one_side_give_nan():
    reference = np.array([[1.0, 2.0, 3.0], [np.nan, np.nan, np.nan]])
    current = np.array([[np.nan, np.nan], [1.0, 2.0]])
    ks, wasserstein, n_ref, n_cur = two_sample.ks_and_wasserstein(reference, current)
    assert np.isnan(ks).all() and np.isnan(wasserstein).all()
    assert n_ref.tolist() == [3, 0] and n_cur.tolist() == [0, 2]


def _ks_p_value(ref, cur):
    """The engine's p-value for one pair of samples, from its own statistic."""
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(ref[None, :], cur[None, :])
    return two_sample.ks_p_values(ks, n_ref, n_cur)[0][0]


@pytest.mark.parametrize("rounded", [False, True], ids=["continuous", "ties"])
@pytest.mark.parametrize("shift", [0.05, 0.3, 1.5])
@pytest.mark.parametrize(
    ("n", "m"), [(50, 80), (1000, 1000), (1000, 300), (10_000, 10_000), (20_000, 5_000)]
)
def test_ks_p_values_match_scipy_ks_2samp_default_method(n, m, shift, rounded):
    # up to 10,000 values a side scipy's default is exact (equal sizes by the Gnedenko-Korolyuk
    # sum, unequal by a lattice-path count), beyond it asymptotic; the shifts reach p near 1,
    # the one-sided Smirnov tail and D >= 0.5, and rounding to one decimal makes heavy ties
    rng = np.random.default_rng(13)
    ref, cur = rng.normal(size=n), rng.normal(shift, 1, size=m)
    if rounded:
        ref, cur = np.round(ref, 1), np.round(cur, 1)
    expected = stats.ks_2samp(ref, cur)
    assert _ks_p_value(ref, cur) == pytest.approx(expected.pvalue, rel=RTOL, abs=1e-300)


@pytest.mark.parametrize(("n", "m"), [(10_000, 9_999), (10_000, 10_001), (10_001, 10_001)])
def test_ks_p_values_switch_from_exact_to_asymptotic_above_ten_thousand_values_as_scipy(n, m):
    rng = np.random.default_rng(14)
    ref, cur = rng.normal(size=n), rng.normal(0.03, 1, size=m)
    exact = stats.ks_2samp(ref, cur, method="exact").pvalue
    asymptotic = stats.ks_2samp(ref, cur, method="asymp").pvalue
    expected = exact if max(n, m) <= 10_000 else asymptotic
    assert exact != pytest.approx(asymptotic, rel=1e-6)
    assert _ks_p_value(ref, cur) == pytest.approx(expected, rel=RTOL)


def test_ks_p_values_of_features_with_different_sizes_in_one_call_are_each_scipys():
    rng = np.random.default_rng(15)
    sizes = [(40, 40), (700, 250), (12_000, 3_000), (5, 9)]
    width_ref, width_cur = max(n for n, _ in sizes), max(m for _, m in sizes)
    reference = np.full((len(sizes), width_ref), np.nan)
    current = np.full((len(sizes), width_cur), np.nan)
    for i, (n, m) in enumerate(sizes):
        reference[i, :n] = rng.normal(size=n)
        current[i, :m] = rng.normal(0.2, 1, size=m)
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(reference, current)
    p, _ = two_sample.ks_p_values(ks, n_ref, n_cur)
    for i, (n, m) in enumerate(sizes):
        expected = stats.ks_2samp(reference[i, :n], current[i, :m]).pvalue
        assert p[i] == pytest.approx(expected, rel=RTOL)


def test_ks_p_value_of_identical_samples_is_one():
    sample = np.random.default_rng(16).normal(size=300)
    assert stats.ks_2samp(sample, sample).pvalue == 1.0
    assert _ks_p_value(sample, sample) == 1.0


def test_ks_p_values_of_rows_without_values_are_nan():
    p, _ = two_sample.ks_p_values(np.array([np.nan, 0.5]), np.array([0, 10]), np.array([5, 0]))
    assert np.isnan(p).all()


def test_jensen_shannon_is_scipys_distance_in_natural_log():
    rng = np.random.default_rng(15)
    p = rng.dirichlet(np.ones(10), size=5)
    q = rng.dirichlet(np.ones(10), size=5)
    q[0, 3] = 0.0
    q[0] /= q[0].sum()
    got = two_sample.jensen_shannon(p, q)
    for i in range(5):
        assert got[i] == pytest.approx(jensenshannon(p[i], q[i]), rel=RTOL)
    assert two_sample.jensen_shannon(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))[0] == (
        pytest.approx(np.sqrt(np.log(2)), rel=RTOL)
    )


def test_psi_floors_empty_bins_at_one_in_ten_thousand():
    # ref (0.5, 0.5, 0), cur (0.5, 0.25, 0.25): the empty reference bin counts as 1e-4.
    # (0.25-0.5) ln(0.25/0.5) + (0.25-0.0001) ln(0.25/0.0001)
    # = 0.25 * 0.693147 + 0.2499 * 7.824046 = 0.173287 + 1.955229 = 2.128516
    got = two_sample.psi(np.array([[0.5, 0.5, 0.0]]), np.array([[0.5, 0.25, 0.25]]))
    assert got[0] == pytest.approx(0.25 * np.log(2) + 0.2499 * np.log(2500), rel=RTOL)
    assert got[0] == pytest.approx(2.128516, abs=1e-6)


@pytest.mark.parametrize(
    "table",
    [
        [[30, 50, 20], [25, 40, 60]],
        [[5, 0, 7, 3], [1, 4, 6, 9]],
        [[120, 80], [90, 130]],
        [[3, 1], [2, 6]],
    ],
)
def test_chi_square_matches_chi2_contingency_including_yates_for_two_categories(table):
    ref, cur = np.array([table[0]]), np.array([table[1]])
    statistic, p = two_sample.chi_square(ref, cur)
    expected = stats.chi2_contingency(np.array(table))
    assert statistic[0] == pytest.approx(expected.statistic, rel=RTOL)
    assert p[0] == pytest.approx(expected.pvalue, rel=RTOL)


def test_chi_square_ignores_padding_columns_and_rows_are_independent():
    ref = np.array([[30, 50, 20, 0, 0], [120, 80, 0, 0, 0], [10, 0, 0, 0, 0]])
    cur = np.array([[25, 40, 60, 0, 0], [90, 130, 0, 0, 0], [7, 0, 0, 0, 0]])
    statistic, p = two_sample.chi_square(ref, cur)
    for i, width in enumerate([3, 2]):
        expected = stats.chi2_contingency(np.array([ref[i, :width], cur[i, :width]]))
        assert statistic[i] == pytest.approx(expected.statistic, rel=RTOL)
        assert p[i] == pytest.approx(expected.pvalue, rel=RTOL)
    assert (statistic[2], p[2]) == (0.0, 1.0)


def test_two_proportion_z_squared_is_chi_square_without_yates():
    table = np.array([[120, 80], [90, 130]])
    z, p = two_sample.two_proportion_z(table[:1], table[1:])
    expected = stats.chi2_contingency(table, correction=False)
    assert z[0] ** 2 == pytest.approx(expected.statistic, rel=RTOL)
    assert p[0] == pytest.approx(expected.pvalue, rel=RTOL)
    # current share of the first category (90/220) is below the reference's (120/200)
    assert z[0] < 0


def test_total_variation_is_half_the_l1_distance():
    got = two_sample.total_variation(np.array([[0.5, 0.3, 0.2]]), np.array([[0.2, 0.3, 0.5]]))
    assert got[0] == pytest.approx(0.3)


@pytest.mark.parametrize(("n", "m"), [(10_000, 1_000), (5_000, 500), (300, 300), (50, 80)])
def test_ks_p_values_not_allowed_exact_are_scipys_asymptotic_ones(n, m):
    rng = np.random.default_rng(17)
    ref, cur = rng.normal(size=n), rng.normal(0.1, 1, size=m)
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(ref[None, :], cur[None, :])
    p, exact = two_sample.ks_p_values(ks, n_ref, n_cur, np.array([False]))
    assert not exact[0]
    expected = stats.ks_2samp(ref, cur, method="asymp").pvalue
    assert p[0] == pytest.approx(expected, rel=RTOL)
    assert expected != pytest.approx(stats.ks_2samp(ref, cur, method="exact").pvalue, rel=1e-9)


def test_ks_p_values_say_which_rows_were_exact():
    rng = np.random.default_rng(18)
    reference = rng.normal(size=(3, 400))
    reference[2, :] = np.nan
    current = rng.normal(size=(3, 100))
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(reference, current)
    _, exact = two_sample.ks_p_values(ks, n_ref, n_cur, np.array([True, False, True]))
    assert exact.tolist() == [True, False, False]


def test_ks_p_value_falls_back_to_asymptotic_exactly_where_scipys_exact_sum_rounds_above_one():
    # seven values a side, D = 1/7: scipy's exact sum comes out at 1 + 2e-16, so it warns and
    # uses the asymptotic p-value; the engine must report the same p-value and say "asymp"
    ref, cur = np.arange(7.0), np.arange(7.0) + 0.5
    with pytest.warns(RuntimeWarning, match="Exact calculation unsuccessful"):
        expected = stats.ks_2samp(ref, cur).pvalue
    ks, _, n_ref, n_cur = two_sample.ks_and_wasserstein(ref[None, :], cur[None, :])
    p, exact = two_sample.ks_p_values(ks, n_ref, n_cur)
    assert not exact[0]
    assert p[0] == pytest.approx(expected, rel=RTOL)
    assert p[0] == pytest.approx(stats.ks_2samp(ref, cur, method="asymp").pvalue, rel=RTOL)
