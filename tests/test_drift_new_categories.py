"""A category the reference never had is drift of its own, not hidden by the effect-size gate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from neural_tui.engines.drift import DriftSettings, build_reference, detect


def labels(**counts: int) -> np.ndarray:
    column = np.empty(sum(counts.values()), dtype=object)
    column[:] = [name for name, count in counts.items() for _ in range(count)]
    return column


REFERENCE = labels(a=500, b=300, c=200)


def test_a_new_category_in_four_percent_of_the_window_is_drift_despite_the_effect_gate():
    # 10 of 250 values in "d", the rest in the reference's proportions: the total variation
    # distance is 0.04, under the 0.05 effect-size gate, though chi-square is far below alpha.
    window = labels(a=120, b=72, c=48, d=10)
    report = detect(build_reference({"c": REFERENCE}), {"c": window})
    feature = report.feature("c")
    assert feature.effect_size == pytest.approx(0.04)
    chi2 = stats.chi2_contingency([[500, 300, 200, 0], [120, 72, 48, 10]])
    assert feature.chi2_p_value == pytest.approx(chi2.pvalue, rel=1e-9)
    assert chi2.pvalue < 1e-8
    assert feature.new_category_share == 10 / 250
    fisher = stats.fisher_exact([[0, 1000], [10, 240]], alternative="less")
    assert feature.new_category_p_value == pytest.approx(fisher.pvalue, rel=1e-9)
    assert feature.new_categories_drifted
    assert feature.drifted
    assert report.drifted_features == ("c",)
    for method in ("none", "bonferroni", "bh"):
        assert report.corrections[method].drifted == ("c",)
    entry = json.loads(json.dumps(report.to_dict(), allow_nan=False))["features"][0]
    assert entry["new_category_share"] == 0.04
    assert entry["new_categories_drifted"] is True
    assert entry["drifted"] is True


def test_the_fisher_p_value_is_the_chance_all_new_values_land_in_the_window():
    # C(250, 10) / C(1250, 10), written out as a product.
    by_hand = float(np.prod([(250 - i) / (1250 - i) for i in range(10)]))
    feature = detect(build_reference({"c": REFERENCE}), {"c": labels(a=120, b=72, c=48, d=10)})
    assert feature.feature("c").new_category_p_value == pytest.approx(by_hand, rel=1e-9)


@pytest.mark.parametrize(
    ("new", "flagged"), [(2, True), (1, False)], ids=["exactly-one-percent", "below"]
)
def test_new_category_drift_starts_at_the_share_threshold(new, flagged):
    # 200 rows; the threshold 1% is 2 rows. A reference of 100,000 rows makes p < 0.01 either way.
    reference = labels(a=50_000, b=50_000)
    window = labels(a=99, b=99, d=new) if new == 2 else labels(a=100, b=99, d=new)
    settings = DriftSettings(new_category_share=0.01)
    feature = detect(build_reference({"c": reference}, settings), {"c": window}).feature("c")
    assert feature.new_category_share == new / 200
    assert feature.new_category_p_value < 0.01
    assert feature.new_categories_drifted is flagged
    assert feature.drifted is flagged


def test_a_new_category_that_chance_explains_is_not_drift():
    # 3 new of 100 against a reference of 100: p = C(100,3)/C(200,3) = 0.12, share 3%.
    window = labels(a=49, b=48, d=3)
    feature = detect(build_reference({"c": labels(a=50, b=50)}), {"c": window}).feature("c")
    assert feature.new_category_p_value == pytest.approx(
        (100 * 99 * 98) / (200 * 199 * 198), rel=1e-9
    )
    assert not feature.new_categories_drifted


def test_a_new_value_of_a_few_valued_numeric_feature_is_a_new_category():
    reference = np.repeat([0.0, 1.0, 2.0], 400)
    window = np.concatenate([np.repeat([0.0, 1.0, 2.0], 64), np.full(8, 7.0)])
    feature = detect(build_reference({"n": reference}), {"n": window}).feature("n")
    assert feature.new_category_share == 8 / 200
    assert feature.new_categories_drifted


def test_a_continuous_feature_reports_no_new_category_share():
    rng = np.random.default_rng(4)
    feature = detect(
        build_reference({"x": rng.normal(size=500)}), {"x": rng.normal(size=200)}
    ).feature("x")
    assert feature.new_category_share is None
    assert feature.to_dict()["new_categories_drifted"] is False


def test_new_category_share_setting_must_be_a_share():
    with pytest.raises(ValueError, match="new_category_share"):
        DriftSettings(new_category_share=0.0)
