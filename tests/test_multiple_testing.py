"""Bonferroni and Benjamini-Hochberg adjusted p-values, against hand arithmetic and scipy."""

import numpy as np
import pytest
from scipy import stats

from neural_tui.engines.multiple_testing import benjamini_hochberg, bonferroni

P = np.array([0.04, 0.001, 0.03, 0.5, 0.012])


def test_bonferroni_multiplies_by_the_number_of_tests_and_caps_at_one():
    assert bonferroni(P).tolist() == pytest.approx([0.2, 0.005, 0.15, 1.0, 0.06])


def test_benjamini_hochberg_by_hand():
    # sorted: 0.001, 0.012, 0.03, 0.04, 0.5 ; p * 5 / rank: 0.005, 0.03, 0.05, 0.05, 0.5
    # running minimum from the largest rank down leaves them unchanged; back in input order:
    assert benjamini_hochberg(P).tolist() == pytest.approx([0.05, 0.005, 0.05, 0.5, 0.03])


def test_benjamini_hochberg_step_up_lowers_an_earlier_rank():
    # sorted 0.01, 0.04, 0.045 -> 0.03, 0.06, 0.045 -> min from the top: 0.03, 0.045, 0.045
    assert benjamini_hochberg(np.array([0.045, 0.01, 0.04])).tolist() == pytest.approx(
        [0.045, 0.03, 0.045]
    )


def test_benjamini_hochberg_matches_scipy_false_discovery_control():
    p = np.random.default_rng(3).uniform(size=40) ** 3
    assert benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p, method="bh"))


def test_no_tests_give_no_adjusted_values():
    assert benjamini_hochberg(np.array([])).size == 0
    assert bonferroni(np.array([])).size == 0
