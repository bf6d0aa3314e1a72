"""Data drift: which inputs changed against a reference window, by how much, and does it matter.

Per numeric feature: two-sample KS statistic and p-value (as `scipy.stats.ks_2samp` computes it:
with its default method, exact up to 10,000 values a side and asymptotic beyond, where KS is the
deciding test; with `method='asymp'` where another test decides, since the exact p-value for
unequal sizes costs more than all the rest; `ks_p_value_method` says which), PSI,
Wasserstein-1 distance (as `scipy.stats.wasserstein_distance`) and the same divided by the
reference's population standard deviation floored at 0.001, and the Jensen-Shannon distance
(natural log) over the PSI bins. Per
categorical feature: chi-square on the 2xK reference-versus-current count table (as
`scipy.stats.chi2_contingency`, Yates' correction included for two categories), a two-proportion
z-test when there are exactly two categories, and PSI and Jensen-Shannon over the categories; every
category unseen in the reference gets its own bin. A numeric feature whose reference has few
distinct values also gets the categorical statistics over its values, and its Jensen-Shannon
distance is over those.

PSI: up to 10 bins whose inner edges are the distinct values among the reference's 10%, 20%,
..., 90% quantiles (numpy's default linear interpolation), so tied quantiles of an integer or
few-valued feature merge and every bin is a real interval; bin k holds
edge[k-1] <= v < edge[k] (a value exactly on an edge belongs to the bin that edge opens), the
two outer bins are open-ended, each bin's share is floored at 1e-4 (without renormalising),
and PSI = sum of (cur - ref) * ln(cur / ref). Bin labels print the edges with as many digits
as it takes to tell neighbours apart.

The deciding test of a feature (its `test`) is `feature_tests[name]` if given, else chosen as
common practice does: a reference of at most `small_reference_rows` values gets KS for numeric
features with more than `numeric_distinct_values` distinct values, else the z-test (two
categories) or chi-square; a larger reference gets the normed Wasserstein distance, or the
Jensen-Shannon distance for categorical and few-valued features. Distance tests flag drift at
`statistic >= threshold`. A z-test whose window brings a third category becomes chi-square, of
which it is the two-category case.

Effect size: every tested feature reports how much probability mass moved, in [0, 1] and
independent of the sample sizes: the KS statistic over its numeric values, or the total
variation distance between category shares when the deciding test reads categories (chi-square,
z, categorical features, Jensen-Shannon over the values of a few-valued numeric feature).
Effect-size gate: with a million rows a p-value test detects shifts nobody should be paged for.
A p-value test therefore flags drift only when the effect size is also at least
`min_effect_size`; being the same kind of figure for every kind, one threshold means the same
for all.

New categories: a category never seen in the reference is a change the effect-size gate can
hide (5% of a window in a category the reference never had moves only 0.05 of the mass). Every
feature whose categories are counted (categorical and few-valued numeric features) therefore
reports `new_category_share`, the share of its current values in categories the reference never
had, and `new_category_p_value`, the chance that all of those values fall in the window if both
samples came from one population: Fisher's exact test on the 2x2 table [[0, n_reference],
[k, n_current - k]], one-sided, which is C(n_current, k) / C(n_reference + n_current, k). The
feature drifts by new categories (`new_categories_drifted`) when that share is at least
`new_category_share` (1% by default) and that p-value is below alpha; such a feature counts as
drifted under every correction, whatever its deciding test says.

Missing values (None, NaN, +-inf, integers beyond float range, and non-numbers in a numeric
feature) are left out of every test; the data-quality engine reports them. Finite values near
the float limit (1e308) are kept; a statistic that overflows on them is reported as null and
flags nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import pairwise
from types import MappingProxyType
from typing import Any, Literal, get_args

import numpy as np

from neural_tui.engines import two_sample
from neural_tui.engines.columns import (
    FeatureKind,
    infer_kind,
    number_or_nan,
    to_categorical,
    to_numeric,
)
from neural_tui.engines.concept import ConceptDriftState
from neural_tui.engines.multiple_testing import benjamini_hochberg, bonferroni

TestName = Literal["ks", "chi2", "z", "psi", "wasserstein", "jensen_shannon"]
Correction = Literal["none", "bonferroni", "bh"]
KsMethod = Literal["exact", "asymp"]

TESTS: tuple[TestName, ...] = get_args(TestName)
CORRECTIONS: tuple[Correction, ...] = get_args(Correction)
P_VALUE_TESTS = frozenset({"ks", "chi2", "z"})
CATEGORY_TESTS = frozenset({"chi2", "z"})
NUMERIC_TESTS = frozenset({"ks", "wasserstein"})
PSI_QUANTILES = np.arange(1, 10) / 10
STD_FLOOR = 0.001
POOLED_CELLS = 1 << 18
"""Values sorted at once when pooling reference and current (unless one feature alone has more).

Blocks of ~2 MB per temporary array are reused by the allocator instead of being mapped afresh,
which makes the pass ~25% faster than one large block, and keep memory bounded.
"""
SMALLEST_P_VALUE = 1e-300


@dataclass(frozen=True, slots=True)
class DriftSettings:
    """Thresholds and choices of the drift engine (the `[drift]` config section).

    `correction` decides which multiple-testing correction sets each feature's `drifted`; all
    three are reported. `min_effect_size` is the effect-size gate described in the module
    docstring. `feature_tests` and `feature_kinds` override the automatic choices per feature.
    """

    alpha: float = 0.05
    psi_threshold: float = 0.2
    wasserstein_threshold: float = 0.1
    jensen_shannon_threshold: float = 0.1
    small_reference_rows: int = 1000
    numeric_distinct_values: int = 5
    correction: Correction = "none"
    dataset_drift_share: float = 0.5
    min_effect_size: float = 0.05
    new_category_share: float = 0.01
    feature_tests: Mapping[str, TestName] = field(default_factory=dict)
    feature_kinds: Mapping[str, FeatureKind] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha: must be between 0 and 1, got {self.alpha!r}")
        for key in ("psi_threshold", "wasserstein_threshold", "jensen_shannon_threshold"):
            if not getattr(self, key) > 0:
                raise ValueError(f"{key}: must be positive, got {getattr(self, key)!r}")
        if not 0 < self.dataset_drift_share <= 1:
            raise ValueError(
                f"dataset_drift_share: must be in (0, 1], got {self.dataset_drift_share!r}"
            )
        if not 0 <= self.min_effect_size <= 1:
            raise ValueError(f"min_effect_size: must be in [0, 1], got {self.min_effect_size!r}")
        if not 0 < self.new_category_share <= 1:
            raise ValueError(
                f"new_category_share: must be in (0, 1], got {self.new_category_share!r}"
            )
        if self.correction not in CORRECTIONS:
            raise ValueError(
                f"correction: unknown {self.correction!r} "
                f"(expected one of {', '.join(CORRECTIONS)})"
            )
        for name, test in self.feature_tests.items():
            if test not in TESTS:
                raise ValueError(
                    f"feature_tests.{name}: unknown test {test!r} "
                    f"(expected one of {', '.join(TESTS)})"
                )
        for name, kind in self.feature_kinds.items():
            if kind not in get_args(FeatureKind):
                raise ValueError(
                    f"feature_kinds.{name}: unknown kind {kind!r} (expected numeric or categorical)"
                )
        object.__setattr__(self, "feature_tests", MappingProxyType(dict(self.feature_tests)))
        object.__setattr__(self, "feature_kinds", MappingProxyType(dict(self.feature_kinds)))

    def threshold(self, test: TestName) -> float:
        """The value a test's statistic is compared with: alpha for p-value tests."""
        return {
            "psi": self.psi_threshold,
            "wasserstein": self.wasserstein_threshold,
            "jensen_shannon": self.jensen_shannon_threshold,
        }.get(test, self.alpha)


@dataclass(frozen=True, slots=True)
class NumericReference:
    """Reference statistics of the numeric features, one row per feature, computed once.

    `values` holds each feature's finite values sorted ascending, NaN-padded at the end.
    `psi_edges` holds each feature's distinct inner PSI edges, padded with +inf (whose bins
    stay empty on both sides and add nothing), of which the first `n_bins - 1` are real.
    """

    names: tuple[str, ...]
    values: np.ndarray
    counts: np.ndarray
    std: np.ndarray
    psi_edges: np.ndarray
    n_bins: np.ndarray
    bin_labels: tuple[tuple[str, ...], ...]
    bin_shares: np.ndarray
    distinct: np.ndarray


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    """Reference counts per category label, labels sorted."""

    categories: tuple[str, ...]
    counts: np.ndarray


@dataclass(frozen=True, slots=True)
class ReferenceProfile:
    """Everything `detect` needs from the reference, so it is never recomputed per window.

    Kinds are fixed here. `outputs` profiles the model's `prediction` and `top_probability`
    when the reference had them.
    """

    n_rows: int
    settings: DriftSettings
    kinds: Mapping[str, FeatureKind]
    numeric: NumericReference
    categories: Mapping[str, CategoryCounts]
    outputs: ReferenceProfile | None = None


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """One feature's drift against the reference.

    `statistic`, `p_value` and `threshold` belong to the deciding `test`; `statistic` is never
    negative (for the z-test it is |z|, the signed z is `z_statistic`), so it can be exported and
    plotted as a drift magnitude. `effect_size` is described in the module docstring. `severity`
    orders features: for distance tests statistic / threshold; for p-value tests the smaller of
    ln(p) / ln(alpha) and effect_size / min_effect_size. Severity >= 1 means drift before any
    multiple-testing correction, or drift by new categories (see the module docstring), which
    raises severity to at least the smaller of new_category_share / its threshold and
    ln(new_category_p_value) / ln(alpha). `reason` says why no test ran (then `drifted` is False).
    """

    name: str
    kind: FeatureKind
    test: TestName
    statistic: float | None
    p_value: float | None
    threshold: float
    drifted: bool
    severity: float
    n_reference: int
    n_current: int
    effect_size: float | None = None
    p_value_bonferroni: float | None = None
    p_value_bh: float | None = None
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    ks_p_value_method: KsMethod | None = None
    psi: float | None = None
    wasserstein: float | None = None
    wasserstein_normed: float | None = None
    jensen_shannon: float | None = None
    chi2_statistic: float | None = None
    chi2_p_value: float | None = None
    z_statistic: float | None = None
    z_p_value: float | None = None
    new_category_share: float | None = None
    new_category_p_value: float | None = None
    new_categories_drifted: bool = False
    bins: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The feature as `drift --json` lists it; non-finite numbers become null."""
        keys = ["statistic", "p_value", "threshold"]
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "test": self.test}
        out.update({key: _number(getattr(self, key)) for key in keys})
        out["drifted"] = self.drifted
        if self.kind == "numeric":
            keys = ["ks_statistic", "ks_p_value", "psi", "wasserstein", "wasserstein_normed",
                    "jensen_shannon"]
        else:
            keys = ["chi2_statistic", "chi2_p_value", "psi", "jensen_shannon"]
        keys += [key for key in ("chi2_statistic", "chi2_p_value", "z_statistic", "z_p_value")
                 if key not in keys and getattr(self, key) is not None]
        keys += ["new_category_share", "new_category_p_value"]
        keys += ["severity", "effect_size", "p_value_bonferroni", "p_value_bh"]
        out.update({key: _number(getattr(self, key)) for key in keys})
        out["new_categories_drifted"] = self.new_categories_drifted
        if self.kind == "numeric":
            out["ks_p_value_method"] = self.ks_p_value_method
        out.update(
            n_reference=self.n_reference,
            n_current=self.n_current,
            bins=list(self.bins),
            reference_shares=[_number(v) for v in self.reference_shares],
            current_shares=[_number(v) for v in self.current_shares],
            reason=self.reason,
        )
        return out


@dataclass(frozen=True, slots=True)
class CorrectionOutcome:
    """Which features drifted when p-values are corrected with `method`."""

    method: Correction
    drifted: tuple[str, ...]
    drifted_share: float
    dataset_drift: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "drifted": list(self.drifted),
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
        }


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift of one window against the reference: features worst first, and the verdicts.

    `corrections` holds the outcome under each correction; `correction` names the one that
    set the features' `drifted`, `drifted_share` and `dataset_drift`. `prediction` and
    `top_probability` are not counted among the features.
    """

    features: tuple[FeatureDrift, ...]
    n_reference: int
    n_current: int
    correction: Correction
    corrections: Mapping[Correction, CorrectionOutcome]
    prediction: FeatureDrift | None = None
    top_probability: FeatureDrift | None = None
    concept: ConceptDriftState | None = None

    @property
    def drifted_share(self) -> float:
        return self.corrections[self.correction].drifted_share

    @property
    def dataset_drift(self) -> bool:
        return self.corrections[self.correction].dataset_drift

    @property
    def drifted_features(self) -> tuple[str, ...]:
        return self.corrections[self.correction].drifted

    def feature(self, name: str) -> FeatureDrift | None:
        return next((f for f in self.features if f.name == name), None)

    def scores(self) -> dict[str, float]:
        """`neural_drift_score` values by `drift_type`, for the kinds this report has.

        `prediction` is the effect size of the prediction column: the share of probability
        mass that moved, in [0, 1], whichever test decides (a deciding statistic would be a
        chi-square on one model and a Jensen-Shannon distance on the next).
        """
        scores = {"distribution": self.drifted_share}
        if self.prediction is not None and self.prediction.effect_size is not None:
            scores["prediction"] = self.prediction.effect_size
        if self.concept is not None:
            scores["concept"] = self.concept.normalised
        return scores

    def to_dict(self) -> dict[str, Any]:
        """One model of `drift --json`."""
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "correction": self.correction,
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "drifted_features": list(self.drifted_features),
            "corrections": {m: outcome.to_dict() for m, outcome in self.corrections.items()},
            "features": [f.to_dict() for f in self.features],
            "prediction": self.prediction.to_dict() if self.prediction else None,
            "top_probability": self.top_probability.to_dict() if self.top_probability else None,
            "concept": self.concept.to_dict() if self.concept else None,
            "scores": self.scores(),
        }


def build_reference(
    columns: Mapping[str, np.ndarray],
    settings: DriftSettings | None = None,
    *,
    predictions: np.ndarray | None = None,
    top_probability: np.ndarray | None = None,
) -> ReferenceProfile:
    """Profile the reference once: kinds, sorted values, PSI edges and shares, category counts.

    `predictions` (the `prediction` values) and `top_probability` (see `top_probabilities`)
    are profiled apart, for prediction drift.
    """
    settings = settings or DriftSettings()
    outputs = {
        name: column
        for name, column in (("prediction", predictions), ("top_probability", top_probability))
        if column is not None
    }
    profile = _profile(columns, settings)
    if outputs:
        profile = replace(profile, outputs=_profile(outputs, settings))
    return profile


def detect(
    reference: ReferenceProfile,
    current: Mapping[str, np.ndarray],
    settings: DriftSettings | None = None,
    *,
    predictions: np.ndarray | None = None,
    top_probability: np.ndarray | None = None,
    concept: ConceptDriftState | None = None,
) -> DriftReport:
    """Compare a window with the reference. Settings default to the reference's own.

    A feature of the reference absent from `current` counts as all missing; features the
    reference does not know are ignored (data quality reports them). `concept` is attached
    as it is.
    """
    settings = settings or reference.settings
    n_current = _row_count(current)
    features, outcomes = _corrected(_measure(reference, current, n_current, settings), settings)
    output_drift: dict[str, FeatureDrift] = {}
    if reference.outputs is not None:
        outputs = {
            name: column
            for name, column in (("prediction", predictions), ("top_probability", top_probability))
            if column is not None and name in reference.outputs.kinds
        }
        rows = _row_count(outputs)
        output_drift = {f.name: f for f in _measure(reference.outputs, outputs, rows, settings)}
    return DriftReport(
        features=tuple(sorted(features, key=lambda f: (-f.severity, f.name))),
        n_reference=reference.n_rows,
        n_current=n_current,
        correction=settings.correction,
        corrections=outcomes,
        prediction=output_drift.get("prediction"),
        top_probability=output_drift.get("top_probability"),
        concept=concept,
    )


def top_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Highest class probability per record from `prediction_proba` mappings; NaN if absent."""
    if probabilities.shape[0] == 0:
        return np.empty(0, dtype=np.float64)
    return _top_probability(probabilities.astype(object, copy=False)).astype(np.float64)


def _highest(probabilities: Any) -> float:
    if not isinstance(probabilities, Mapping):
        return math.nan
    numbers = [number_or_nan(v) for v in probabilities.values()]
    return max((v for v in numbers if not math.isnan(v)), default=math.nan)


_top_probability = np.frompyfunc(_highest, 1, 1)


class DriftDetector:
    """Library face of the engine: `set_reference(data)` once, then `detect_drift(data)`.

    Data is a 2-D array whose columns are features (named `feature_0`, ... unless
    `feature_names` is given) or a mapping of feature name to array.
    """

    def __init__(
        self, settings: DriftSettings | None = None, feature_names: Sequence[str] | None = None
    ) -> None:
        self.settings = settings or DriftSettings()
        self.feature_names = tuple(feature_names) if feature_names is not None else None
        self.reference: ReferenceProfile | None = None

    def set_reference(self, data: Any) -> DriftDetector:
        self.reference = build_reference(self._columns(data), self.settings)
        return self

    def detect_drift(self, data: Any) -> DriftReport:
        if self.reference is None:
            raise RuntimeError("DriftDetector: call set_reference() before detect_drift()")
        return detect(self.reference, self._columns(data), self.settings)

    def _columns(self, data: Any) -> dict[str, np.ndarray]:
        if isinstance(data, Mapping):
            return {str(name): np.asarray(column) for name, column in data.items()}
        matrix = np.asarray(data)
        if matrix.ndim == 1:
            matrix = matrix[:, None]
        if matrix.ndim != 2:
            raise ValueError(f"DriftDetector: data must be 2-D, got {matrix.ndim} dimensions")
        names = self.feature_names or tuple(f"feature_{i}" for i in range(matrix.shape[1]))
        if len(names) != matrix.shape[1]:
            raise ValueError(
                f"DriftDetector: {len(names)} feature names for {matrix.shape[1]} columns"
            )
        return {name: matrix[:, i] for i, name in enumerate(names)}


@dataclass(slots=True)
class _Measurement:
    """Statistics gathered for one feature before a test decides (internal, mutable)."""

    n_reference: int = 0
    n_current: int = 0
    ks_statistic: float | None = None
    ks_p_value: float | None = None
    ks_p_value_method: KsMethod | None = None
    psi: float | None = None
    wasserstein: float | None = None
    wasserstein_normed: float | None = None
    jensen_shannon: float | None = None
    chi2_statistic: float | None = None
    chi2_p_value: float | None = None
    z_statistic: float | None = None
    z_p_value: float | None = None
    total_variation: float | None = None
    new_category_share: float | None = None
    new_category_p_value: float | None = None
    n_categories: int = 0
    bins: tuple[str, ...] = ()
    reference_shares: tuple[float, ...] = ()
    current_shares: tuple[float, ...] = ()


def _profile(columns: Mapping[str, np.ndarray], settings: DriftSettings) -> ReferenceProfile:
    n_rows = _row_count(columns)
    kinds: dict[str, FeatureKind] = {
        name: settings.feature_kinds.get(name) or infer_kind(column)
        for name, column in columns.items()
    }
    for name, test in settings.feature_tests.items():
        if test in NUMERIC_TESTS and kinds.get(name) == "categorical":
            raise ValueError(f"feature_tests.{name}: {test!r} needs a numeric feature")
    numeric_names = tuple(name for name, kind in kinds.items() if kind == "numeric")
    numeric = _numeric_reference(numeric_names, columns, n_rows)
    categories: dict[str, CategoryCounts] = {}
    for i, name in enumerate(numeric_names):
        if (
            numeric.distinct[i] <= settings.numeric_distinct_values
            or settings.feature_tests.get(name) in CATEGORY_TESTS
        ):
            labels, counts = _numeric_categories(numeric.values[i, : numeric.counts[i]])
            categories[name] = CategoryCounts(labels, counts)
    for name, kind in kinds.items():
        if kind == "categorical":
            labels, counts = _label_counts(columns[name])
            categories[name] = CategoryCounts(labels, counts)
    return ReferenceProfile(
        n_rows=n_rows,
        settings=settings,
        kinds=MappingProxyType(kinds),
        numeric=numeric,
        categories=MappingProxyType(categories),
    )


def _numeric_reference(
    names: tuple[str, ...], columns: Mapping[str, np.ndarray], n_rows: int
) -> NumericReference:
    values = np.empty((len(names), n_rows), dtype=np.float64)
    for i, name in enumerate(names):
        values[i] = _finite(columns[name])
    values.sort(axis=1)
    counts = np.count_nonzero(~np.isnan(values), axis=1)
    edges, n_bins = _distinct_edges(_quantiles(values, counts))
    std = np.full(len(names), np.nan)
    full = (counts == n_rows) & (counts > 0)
    with np.errstate(over="ignore", invalid="ignore"):  # values near 1e308 overflow
        if full.any():
            std[full] = values[full].std(axis=1)
        for i in np.flatnonzero(~full & (counts > 0)).tolist():
            std[i] = values[i, : counts[i]].std()
    changes = (values[:, 1:] != values[:, :-1]) & ~np.isnan(values[:, 1:])
    distinct = np.where(counts > 0, 1 + np.count_nonzero(changes, axis=1), 0)
    return NumericReference(
        names=names,
        values=values,
        counts=counts,
        std=std,
        psi_edges=edges,
        n_bins=n_bins,
        bin_labels=tuple(
            _bin_labels(edges[i, : bins - 1]) if bins else ()
            for i, bins in enumerate(n_bins.tolist())
        ),
        bin_shares=two_sample.shares(_bin_counts(values, edges)),
        distinct=distinct,
    )


def _measure(
    reference: ReferenceProfile,
    current: Mapping[str, np.ndarray],
    n_current: int,
    settings: DriftSettings,
) -> list[FeatureDrift]:
    measured = {name: _Measurement() for name in reference.kinds}
    tests = {
        name: _deciding_test(name, kind, reference, settings)
        for name, kind in reference.kinds.items()
    }
    ks_decides = np.array([tests[name] == "ks" for name in reference.numeric.names], dtype=bool)
    _measure_numeric(reference.numeric, current, n_current, measured, ks_decides)
    _measure_categories(reference, current, n_current, measured)
    return [
        _judge(name, kind, tests[name], measured[name], settings)
        for name, kind in reference.kinds.items()
    ]


def _feature_blocks(n_features: int, n_rows: int) -> Iterator[slice]:
    """Slices of features small enough that their pooled sort stays within `POOLED_CELLS`."""
    size = max(1, POOLED_CELLS // max(n_rows, 1))
    for start in range(0, n_features, size):
        yield slice(start, min(start + size, n_features))


def _measure_numeric(
    reference: NumericReference,
    current: Mapping[str, np.ndarray],
    n_current: int,
    measured: dict[str, _Measurement],
    ks_decides: np.ndarray,
) -> None:
    n_features = len(reference.names)
    if n_features == 0:
        return
    ks = np.empty(n_features)
    wasserstein = np.empty(n_features)
    current_counts = np.empty(n_features, dtype=np.int64)
    bin_counts = np.empty((n_features, PSI_QUANTILES.size + 1), dtype=np.int64)
    for block in _feature_blocks(n_features, reference.values.shape[1] + n_current):
        window = np.empty((block.stop - block.start, n_current), dtype=np.float64)
        for row, name in enumerate(reference.names[block]):
            window[row] = _finite(current[name]) if name in current else np.nan
        with np.errstate(over="ignore", invalid="ignore"):  # values near 1e308: see the docstring
            ks[block], wasserstein[block], _, current_counts[block] = (
                two_sample.ks_and_wasserstein(
                    reference.values[block], window, reference_sorted=True
                )
            )
        bin_counts[block] = _bin_counts(window, reference.psi_edges[block])
    ks_p, exact = two_sample.ks_p_values(ks, reference.counts, current_counts, ks_decides)
    with np.errstate(invalid="ignore"):
        normed = wasserstein / np.maximum(reference.std, STD_FLOOR)
    current_shares = two_sample.shares(bin_counts)
    psi = two_sample.psi(reference.bin_shares, current_shares)
    js = two_sample.jensen_shannon(reference.bin_shares, current_shares)
    for i, name in enumerate(reference.names):
        m = measured[name]
        m.n_reference = int(reference.counts[i])
        m.n_current = int(current_counts[i])
        real = int(reference.n_bins[i])
        m.bins = reference.bin_labels[i]
        m.reference_shares = tuple(reference.bin_shares[i, :real].tolist())
        if m.n_reference and m.n_current:
            m.ks_statistic = float(ks[i])
            m.ks_p_value = float(ks_p[i])
            m.ks_p_value_method = "exact" if exact[i] else "asymp"
            m.wasserstein = float(wasserstein[i])
            m.wasserstein_normed = float(normed[i])
            m.psi = float(psi[i])
            m.jensen_shannon = float(js[i])
            m.current_shares = tuple(current_shares[i, :real].tolist())


def _measure_categories(
    reference: ReferenceProfile,
    current: Mapping[str, np.ndarray],
    n_current: int,
    measured: dict[str, _Measurement],
) -> None:
    names = tuple(reference.categories)
    if not names:
        return
    tables: list[tuple[tuple[str, ...], np.ndarray, np.ndarray]] = []
    for name in names:
        column = current.get(name)
        if column is None:
            column = np.full(n_current, None, dtype=object)
        if reference.kinds[name] == "numeric":
            finite = _finite(column)
            labels, counts = _numeric_categories(finite[~np.isnan(finite)])
        else:
            labels, counts = _label_counts(column)
        tables.append(_aligned(reference.categories[name], labels, counts))
    width = max(len(bins) for bins, _, _ in tables)
    reference_counts = np.zeros((len(names), width), dtype=np.int64)
    current_counts = np.zeros((len(names), width), dtype=np.int64)
    for i, (bins, ref, cur) in enumerate(tables):
        reference_counts[i, : len(bins)] = ref
        current_counts[i, : len(bins)] = cur
    reference_shares = two_sample.shares(reference_counts)
    current_shares = two_sample.shares(current_counts)
    psi = two_sample.psi(reference_shares, current_shares)
    js = two_sample.jensen_shannon(reference_shares, current_shares)
    tv = two_sample.total_variation(reference_shares, current_shares)
    chi2, chi2_p = two_sample.chi_square(reference_counts, current_counts)
    z, z_p = two_sample.two_proportion_z(reference_counts, current_counts)
    for i, name in enumerate(names):
        m = measured[name]
        bins = tables[i][0]
        m.n_categories = len(bins)
        m.n_reference = int(reference_counts[i].sum())
        m.n_current = int(current_counts[i].sum())
        if reference.kinds[name] == "categorical":
            m.bins = bins
            m.reference_shares = tuple(reference_shares[i, : len(bins)].tolist())
        if not (m.n_reference and m.n_current):
            continue
        known = len(reference.categories[name].categories)
        m.new_category_share, m.new_category_p_value = _new_categories(
            m.n_reference, m.n_current, int(current_counts[i, known:].sum())
        )
        m.chi2_statistic = float(chi2[i])
        m.chi2_p_value = float(chi2_p[i])
        m.total_variation = float(tv[i])
        m.jensen_shannon = float(js[i])
        if len(bins) == 2:
            m.z_statistic = float(z[i])
            m.z_p_value = float(z_p[i])
        if reference.kinds[name] == "categorical":
            m.psi = float(psi[i])
            m.current_shares = tuple(current_shares[i, : len(bins)].tolist())


def _deciding_test(
    name: str, kind: FeatureKind, reference: ReferenceProfile, settings: DriftSettings
) -> TestName:
    override = settings.feature_tests.get(name)
    if override is not None:
        if override in CATEGORY_TESTS and name not in reference.categories:
            raise ValueError(
                f"feature_tests.{name}: {override!r} was not set when the reference was built; "
                "rebuild the reference with these settings"
            )
        return override
    counts = reference.categories.get(name)
    if kind == "categorical":
        few_values = True
        n_reference = int(counts.counts.sum()) if counts is not None else 0
    else:
        index = reference.numeric.names.index(name)
        few_values = reference.numeric.distinct[index] <= settings.numeric_distinct_values
        n_reference = int(reference.numeric.counts[index])
        if few_values and counts is None:
            raise ValueError(
                f"numeric_distinct_values: {name!r} needs category counts the reference was "
                "built without; rebuild the reference with these settings"
            )
    if n_reference <= settings.small_reference_rows:
        if not few_values:
            return "ks"
        return "z" if counts is not None and len(counts.categories) == 2 else "chi2"
    return "jensen_shannon" if few_values else "wasserstein"


def _judge(
    name: str, kind: FeatureKind, test: TestName, m: _Measurement, settings: DriftSettings
) -> FeatureDrift:
    if test == "z" and m.z_statistic is None and m.chi2_statistic is not None:
        test = "chi2"
    statistic, p_value = {
        "ks": (m.ks_statistic, m.ks_p_value),
        "chi2": (m.chi2_statistic, m.chi2_p_value),
        "z": (None if m.z_statistic is None else abs(m.z_statistic), m.z_p_value),
        "psi": (m.psi, None),
        "wasserstein": (m.wasserstein_normed, None),
        "jensen_shannon": (m.jensen_shannon, None),
    }[test]
    reads_categories = (
        test in CATEGORY_TESTS
        or kind == "categorical"
        or (test == "jensen_shannon" and m.total_variation is not None)
    )
    effect = m.total_variation if reads_categories else m.ks_statistic
    threshold = settings.threshold(test)
    reason = None
    if m.n_reference == 0:
        reason = "no reference values"
    elif m.n_current == 0:
        reason = "no current values"
    drifted = False
    severity = 0.0
    if reason is None and statistic is not None and math.isfinite(statistic):
        if p_value is not None and effect is not None:
            drifted, severity = _p_value_verdict(p_value, effect, settings)
        else:
            drifted = statistic >= threshold
            severity = statistic / threshold
    new_drifted = False
    if reason is None and m.new_category_share is not None and m.new_category_p_value is not None:
        new_drifted, new_severity = _new_category_verdict(
            m.new_category_share, m.new_category_p_value, settings
        )
        severity = max(severity, new_severity)
    return FeatureDrift(
        name=name,
        kind=kind,
        test=test,
        statistic=statistic,
        p_value=p_value,
        threshold=threshold,
        drifted=drifted or new_drifted,
        severity=severity,
        effect_size=effect,
        new_categories_drifted=new_drifted,
        reason=reason,
        **{name: getattr(m, name) for name in _REPORTED_MEASUREMENTS},
    )


_REPORTED_MEASUREMENTS = tuple(
    f.name for f in fields(_Measurement) if f.name in {g.name for g in fields(FeatureDrift)}
)
"""The measurements a `FeatureDrift` reports as they are, matched by name."""


def _p_value_verdict(p_value: float, effect: float, settings: DriftSettings) -> tuple[bool, float]:
    significance = math.log(max(p_value, SMALLEST_P_VALUE)) / math.log(settings.alpha)
    size = effect / settings.min_effect_size if settings.min_effect_size > 0 else math.inf
    drifted = p_value < settings.alpha and effect >= settings.min_effect_size
    return drifted, min(significance, size)


def _new_categories(n_reference: int, n_current: int, new: int) -> tuple[float, float]:
    """Share of the window in unseen categories, and Fisher's one-sided p-value that all `new`
    values fall in the window: C(n_current, new) / C(n_reference + n_current, new)."""
    from scipy import special  # at first use: see `two_sample`

    if new == 0:
        return 0.0, 1.0
    total = n_reference + n_current
    log_p = (
        special.gammaln(n_current + 1) - special.gammaln(n_current - new + 1)
        - special.gammaln(total + 1) + special.gammaln(total - new + 1)
    )
    return new / n_current, float(np.exp(log_p))


def _new_category_verdict(
    share: float, p_value: float, settings: DriftSettings
) -> tuple[bool, float]:
    significance = math.log(max(p_value, SMALLEST_P_VALUE)) / math.log(settings.alpha)
    drifted = share >= settings.new_category_share and p_value < settings.alpha
    return drifted, min(significance, share / settings.new_category_share)


def _corrected(
    features: list[FeatureDrift], settings: DriftSettings
) -> tuple[list[FeatureDrift], Mapping[Correction, CorrectionOutcome]]:
    """Apply the three corrections across features; `settings.correction` sets `drifted`."""
    tested = [f for f in features if f.reason is None and f.statistic is not None]
    by_p = [f for f in tested if f.p_value is not None]
    p_values = np.array([f.p_value for f in by_p], dtype=np.float64)
    adjusted: dict[Correction, np.ndarray] = {
        "none": p_values,
        "bonferroni": bonferroni(p_values),
        "bh": benjamini_hochberg(p_values),
    }
    uncorrected = {
        f.name for f in tested
        if (f.p_value is None and f.drifted) or f.new_categories_drifted
    }
    drifted: dict[Correction, set[str]] = {}
    for method, p in adjusted.items():
        drifted[method] = uncorrected | {
            f.name
            for f, p_adjusted in zip(by_p, p.tolist(), strict=True)
            if p_adjusted < settings.alpha and (f.effect_size or 0.0) >= settings.min_effect_size
        }
    position = {f.name: i for i, f in enumerate(by_p)}
    chosen = drifted[settings.correction]
    features = [
        replace(
            f,
            drifted=f.name in chosen,
            p_value_bonferroni=_at(adjusted["bonferroni"], position.get(f.name)),
            p_value_bh=_at(adjusted["bh"], position.get(f.name)),
        )
        for f in features
    ]
    order = {f.name: i for i, f in enumerate(features)}
    outcomes: dict[Correction, CorrectionOutcome] = {}
    for method, names in drifted.items():
        share = len(names) / len(tested) if tested else 0.0
        outcomes[method] = CorrectionOutcome(
            method=method,
            drifted=tuple(sorted(names, key=order.__getitem__)),
            drifted_share=share,
            dataset_drift=bool(tested) and share >= settings.dataset_drift_share,
        )
    return features, MappingProxyType(outcomes)


def _at(values: np.ndarray, index: int | None) -> float | None:
    return None if index is None else float(values[index])


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values (F x n, NaN left out) counted into the PSI bins given by inner `edges` (F x 9)."""
    present = np.count_nonzero(~np.isnan(values), axis=1)
    at_least = [np.count_nonzero(values >= edges[:, [k]], axis=1) for k in range(edges.shape[1])]
    cumulative = np.column_stack([present, *at_least, np.zeros_like(present)])
    return cumulative[:, :-1] - cumulative[:, 1:]


def _quantiles(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The PSI quantiles of each row's first `counts` values (sorted), NaN for an empty row.

    numpy's default linear method, bit for bit, for all rows at once: position (c - 1) * q,
    and between neighbours a and b at fraction t, a + (b - a) * t, or b - (b - a) * (1 - t)
    when t >= 0.5. Interpolating between -1e308 and 1e308 overflows; halving is exact, so
    rows with values that large are interpolated at half scale and doubled back.
    """
    last = np.maximum(counts - 1, 0)[:, None]
    position = last * PSI_QUANTILES[None, :]
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, last)
    t = position - below
    low = np.take_along_axis(values, below, axis=1)
    high = np.take_along_axis(values, above, axis=1)
    limit = np.finfo(np.float64).max / 2
    huge = (np.abs(low) >= limit) | (np.abs(high) >= limit)
    scale = np.where(huge.any(axis=1, keepdims=True), 0.5, 1.0)
    low, high = low * scale, high * scale
    span = high - low
    quantiles = np.where(t >= 0.5, high - span * (1 - t), low + span * t) / scale
    quantiles[counts == 0] = np.nan
    return quantiles


def _distinct_edges(quantiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's distinct quantiles ascending, padded with +inf, and its number of PSI bins.

    A row of NaN (no reference value) stays NaN and has no bins.
    """
    ordered = np.sort(quantiles, axis=1)
    repeated = np.zeros(ordered.shape, dtype=bool)
    repeated[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    edges = np.sort(np.where(repeated, np.inf, ordered), axis=1)
    empty = np.isnan(quantiles).all(axis=1)
    n_bins = np.where(empty, 0, 1 + np.count_nonzero(~repeated, axis=1))
    return edges, n_bins.astype(np.int64)


def _bin_labels(edges: np.ndarray) -> tuple[str, ...]:
    """Labels of the bins cut at strictly increasing `edges`, each edge spelled distinctly."""
    text = _edge_texts(edges.tolist())
    return (
        f"(-inf, {text[0]})",
        *(f"[{low}, {high})" for low, high in pairwise(text)),
        f"[{text[-1]}, inf)",
    )


def _edge_texts(edges: list[float]) -> list[str]:
    """Edges with 4 significant digits, or more where neighbours would read the same."""
    for digits in (4, 6, 9, 12, 15):
        text = [f"{edge:.{digits}g}" for edge in edges]
        if all(low != high for low, high in pairwise(text)):
            return text
    return [repr(edge) for edge in edges]


def _aligned(
    reference: CategoryCounts, labels: tuple[str, ...], counts: np.ndarray
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Current counts in reference order, each unseen category appended as its own bin."""
    index = {label: i for i, label in enumerate(reference.categories)}
    current = np.zeros(len(reference.categories), dtype=np.int64)
    unseen_labels: list[str] = []
    unseen_counts: list[int] = []
    for label, count in zip(labels, counts.tolist(), strict=True):
        position = index.get(label)
        if position is None:
            unseen_labels.append(label)
            unseen_counts.append(count)
        else:
            current[position] = count
    bins = reference.categories + tuple(unseen_labels)
    reference_counts = np.concatenate([reference.counts, np.zeros(len(unseen_labels), np.int64)])
    return bins, reference_counts, np.concatenate([current, np.array(unseen_counts, np.int64)])


def _label_counts(column: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    labels = to_categorical(column)
    present = labels[labels.astype(bool)]  # None is falsy; labels are never empty strings
    if present.size == 0:
        return (), np.zeros(0, dtype=np.int64)
    unique, counts = np.unique(present.astype(str), return_counts=True)
    return tuple(unique.tolist()), counts.astype(np.int64)


def _numeric_categories(values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray]:
    """Distinct finite values as category labels (written as `to_categorical` writes them)."""
    unique, counts = np.unique(values, return_counts=True)
    return tuple(to_categorical(unique).tolist()), counts.astype(np.int64)


def _finite(column: np.ndarray) -> np.ndarray:
    """Float copy of a column with every missing or non-finite value as NaN."""
    numbers = to_numeric(column)
    return np.where(np.isfinite(numbers), numbers, np.nan)


def _row_count(columns: Mapping[str, np.ndarray]) -> int:
    lengths = {name: int(np.shape(column)[0]) for name, column in columns.items()}
    n = max(lengths.values(), default=0)
    for name, length in lengths.items():
        if length != n:
            raise ValueError(f"column {name!r} has {length} rows, the others {n}")
    return n


def _number(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
