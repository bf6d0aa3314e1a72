"""Data quality of a batch of features, judged against a reference built once.

Every check compares the batch with the *reference*: its range, its robust centre and spread,
its category set and its feature set. Nothing is measured against the batch itself, so a batch
made entirely of outliers is still flagged (the old module scored outliers against the batch's
own mean, which hid them).

Each cell of a feature falls in exactly one class:

- missing, counted apart: `null` (JSON null or an absent key), `nan`, `posinf`, `neginf`,
  `empty` (the empty string). A float column cannot tell null from NaN; both read as NaN.
- a type violation: for a numeric feature, anything present that is not a number (a string, a
  bool, an object). A categorical feature has no type violations: producers often write
  category codes as numbers, so `1`, `1.0` and `"1"` are one category (`to_categorical`).
- checked: a finite number (numeric feature) or a category label (categorical feature). An
  integer beyond float range (a 400-digit number) is a checked number that lies beyond every
  bound: it counts as out of range and as an outlier wherever those checks run, and it is left
  out of the reference's statistics.

Checked numbers are tested against the tolerated reference range and the outlier bounds
(independently: one value may be both): a value exactly on a bound is inside. Checked labels
unseen in the reference are new categories.

Composite score: each rate below is in [0, 1]; the score is
`1 - sum(weight * rate) / sum(weights)`, so clean data scores exactly 1.0.

- `missing`: missing cells / cells of the reference features present in the batch.
- `type_violations`: type-violating cells / the same cells.
- `out_of_range`: out-of-range numbers / checked numbers.
- `outliers`: outliers / checked numbers.
- `new_categories`: cells with a new category / checked labels.
- `schema`: (missing + unexpected features) / (reference features + unexpected features).

A reference feature absent from the batch is a schema violation only; its cells do not count in
the missing rate, so that one problem is not charged twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from neural_tui.engines.columns import (
    Columns,
    FeatureKind,
    beyond_float,
    infer_kind,
    numbers_to_float,
    numeric_mask,
    to_categorical,
    to_numeric,
)

OutlierMethod = Literal["mad", "iqr"]


MAD_CONSISTENCY = 0.6745
"""Iglewicz and Hoaglin's constant: the modified z-score is `0.6745 * (x - median) / MAD`."""


@dataclass(frozen=True, slots=True)
class QualityWeights:
    """Weights of each rate in the composite score (see the module docstring); relative only."""

    missing: float = 0.30
    type_violations: float = 0.15
    out_of_range: float = 0.15
    outliers: float = 0.15
    new_categories: float = 0.10
    schema: float = 0.15

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"quality weight {name!r} must be a finite number >= 0")
        if sum(asdict(self).values()) <= 0:
            raise ValueError("quality weights must not all be zero")


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """How strict the checks are.

    - `range_tolerance`: share of the reference's span allowed beyond its min and max.
    - `outlier_method`: `"mad"` flags a modified z-score above `mad_threshold` (Iglewicz and
      Hoaglin, 3.5); `"iqr"` flags values beyond `iqr_factor` interquartile ranges outside
      the reference's quartiles (Tukey, 1.5).
    - `kinds`: per-feature kind overrides; other kinds are inferred from the reference.
    - `max_new_categories`: how many new category names a feature reports (the most frequent).
    """

    weights: QualityWeights = field(default_factory=QualityWeights)
    range_tolerance: float = 0.1
    outlier_method: OutlierMethod = "mad"
    mad_threshold: float = 3.5
    iqr_factor: float = 1.5
    kinds: Mapping[str, FeatureKind] = field(default_factory=dict)
    max_new_categories: int = 10

    def __post_init__(self) -> None:
        if not (math.isfinite(self.range_tolerance) and self.range_tolerance >= 0):
            raise ValueError("range_tolerance must be a finite number >= 0")
        if self.outlier_method not in ("mad", "iqr"):
            raise ValueError(f"outlier_method must be 'mad' or 'iqr', not {self.outlier_method!r}")
        for name in ("mad_threshold", "iqr_factor"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0")
        for feature, kind in self.kinds.items():
            if kind not in ("numeric", "categorical"):
                raise ValueError(
                    f"kind of feature {feature!r} must be 'numeric' or 'categorical', not {kind!r}"
                )
        if self.max_new_categories < 0:
            raise ValueError("max_new_categories must be >= 0")


@dataclass(frozen=True, slots=True)
class FeatureReference:
    """What one feature looked like in the reference (statistics of its finite numbers)."""

    name: str
    kind: FeatureKind
    minimum: float | None = None
    maximum: float | None = None
    median: float | None = None
    mad: float | None = None
    q1: float | None = None
    q3: float | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QualityReference:
    """Reference statistics of every feature, computed once and reused by every check."""

    features: tuple[FeatureReference, ...]

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """Quality of one reference feature in one batch.

    `checked` counts the finite numbers (numeric) or labels (categorical) that the range,
    outlier and category checks looked at; it is the denominator of their rates.
    `new_categories` lists at most `max_new_categories` names, most frequent first;
    `new_category_count` counts every cell with a new category. `severity` is the weighted
    share of bad cells (0 clean, 1 all bad) and orders features for the console.
    """

    name: str
    kind: FeatureKind
    rows: int
    null_count: int
    nan_count: int
    posinf_count: int
    neginf_count: int
    empty_count: int
    type_violations: int
    checked: int
    out_of_range: int
    outliers: int
    new_category_count: int
    new_category_distinct: int
    new_categories: tuple[tuple[str, int], ...]
    expected_range: tuple[float, float] | None
    outlier_bounds: tuple[float, float] | None
    severity: float

    @property
    def missing_count(self) -> int:
        return (
            self.null_count
            + self.nan_count
            + self.posinf_count
            + self.neginf_count
            + self.empty_count
        )

    @property
    def missing_rate(self) -> float:
        return _ratio(self.missing_count, self.rows)

    @property
    def outlier_rate(self) -> float:
        return _ratio(self.outliers, self.checked)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rows": self.rows,
            "missing_count": self.missing_count,
            "missing_rate": self.missing_rate,
            "null_count": self.null_count,
            "nan_count": self.nan_count,
            "posinf_count": self.posinf_count,
            "neginf_count": self.neginf_count,
            "empty_count": self.empty_count,
            "type_violations": self.type_violations,
            "checked": self.checked,
            "out_of_range": self.out_of_range,
            "outliers": self.outliers,
            "outlier_rate": self.outlier_rate,
            "new_category_count": self.new_category_count,
            "new_category_distinct": self.new_category_distinct,
            "new_categories": [{"name": n, "count": c} for n, c in self.new_categories],
            "expected_range": _json_bounds(self.expected_range),
            "outlier_bounds": _json_bounds(self.outlier_bounds),
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class QualityReport:
    """Quality of one batch: per feature (reference order), schema, totals and the score."""

    rows: int
    features: tuple[FeatureQuality, ...]
    missing_features: tuple[str, ...]
    unexpected_features: tuple[str, ...]
    missing_values_rate: float
    type_violation_rate: float
    out_of_range_rate: float
    outlier_rate: float
    new_category_rate: float
    schema_violation_rate: float
    score: float
    weights: QualityWeights

    def by_severity(self) -> tuple[FeatureQuality, ...]:
        """Worst feature first; ties by name, so the order is stable between refreshes."""
        return tuple(sorted(self.features, key=lambda f: (-f.severity, f.name)))

    def to_dict(self) -> dict[str, Any]:
        """One model's entry of `quality --json`."""
        return {
            "score": self.score,
            "rows": self.rows,
            "missing_values_rate": self.missing_values_rate,
            "type_violation_rate": self.type_violation_rate,
            "out_of_range_rate": self.out_of_range_rate,
            "outlier_rate": self.outlier_rate,
            "new_category_rate": self.new_category_rate,
            "schema_violation_rate": self.schema_violation_rate,
            "missing_features": list(self.missing_features),
            "unexpected_features": list(self.unexpected_features),
            "weights": asdict(self.weights),
            "features": [f.to_dict() for f in self.features],
        }


@dataclass(frozen=True, slots=True)
class _Cells:
    """Boolean masks that put every cell of a column in exactly one class, and its numbers.

    The classes are the five missing kinds, `finite` (a checked number), `huge` (an integer
    beyond float range, also checked) and `other` (present but not a number); `text` marks the
    strings across them, which are their own labels.
    """

    values: np.ndarray
    null: np.ndarray
    empty: np.ndarray
    nan: np.ndarray
    posinf: np.ndarray
    neginf: np.ndarray
    finite: np.ndarray
    huge: np.ndarray
    other: np.ndarray
    text: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        return self.null | self.empty | self.nan | self.posinf | self.neginf


_type_of = np.frompyfunc(type, 1, 1)
_FLOAT, _INT, _STR, _BOOL, _NONE_TYPE = (
    np.array(t, dtype=object) for t in (float, int, str, bool, type(None))
)


def _classify(column: np.ndarray) -> _Cells:
    n = column.shape[0]
    none = np.zeros(n, dtype=bool)
    if column.dtype.kind in "fiu":
        values = to_numeric(column)
        is_number, null, empty, text = np.ones(n, dtype=bool), none, none, none
    else:
        column = column.astype(object, copy=False)
        is_number, null, empty, text = _object_masks(column)
        values = np.full(n, np.nan)
        values[is_number] = numbers_to_float(column[is_number])
    huge = beyond_float(column, values)
    nan = is_number & np.isnan(values)
    posinf = (values == np.inf) & ~huge
    neginf = (values == -np.inf) & ~huge
    finite = is_number & np.isfinite(values)
    other = ~(is_number | null | empty)
    return _Cells(values, null, empty, nan, posinf, neginf, finite, huge, other, text)


def _object_masks(
    column: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Masks of numbers, nulls, empty strings and strings in an object column, in one pass.

    Comparing exact types is several times faster than `isinstance` per value; only values of
    other types (numpy scalars, subclasses) go through `numeric_mask`, which has the final say.
    """
    types = _type_of(column)
    is_number = (types == _FLOAT) | (types == _INT)
    null = types == _NONE_TYPE
    text = types == _STR
    unusual = ~(is_number | null | text | (types == _BOOL))
    if unusual.any():
        is_number[unusual] = numeric_mask(column[unusual])
    return is_number, null, np.equal(column, ""), text


def _labels(column: np.ndarray, cells: _Cells) -> np.ndarray:
    """Category labels of the present cells, as `to_categorical` spells them.

    A string is its own label, so only the other values pay for `to_categorical`.
    """
    present = ~cells.missing
    labels = column.astype(object, copy=False)[present]
    spelled = ~cells.text[present]
    if spelled.any():
        labels[spelled] = to_categorical(labels[spelled])
    return labels


def _json_bounds(bounds: tuple[float, float] | None) -> list[float | None] | None:
    """Bounds for strict JSON: one that overflowed (a reference near 1e308) is null, unbounded."""
    if bounds is None:
        return None
    return [v if math.isfinite(v) else None for v in bounds]


def _ratio(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def build_quality_reference(
    columns: Columns, settings: QualitySettings | None = None
) -> QualityReference:
    """Reference statistics of every column: kinds, range, median, MAD, quartiles, categories."""
    settings = settings or QualitySettings()
    _check_lengths(columns)
    features = []
    for name, column in columns.items():
        kind = settings.kinds.get(name) or infer_kind(column)
        cells = _classify(column)
        if kind == "categorical":
            labels = _labels(column, cells)
            categories = tuple(np.unique(labels).tolist()) if labels.size else ()
            features.append(FeatureReference(name, kind, categories=categories))
            continue
        finite = cells.values[cells.finite]
        if finite.size == 0:
            features.append(FeatureReference(name, kind))
            continue
        with np.errstate(over="ignore", invalid="ignore"):  # values near 1e308 overflow
            median = float(np.median(finite))
            q1, q3 = np.quantile(finite, [0.25, 0.75])
            mad = float(np.median(np.abs(finite - median)))
        features.append(
            FeatureReference(
                name,
                kind,
                minimum=float(finite.min()),
                maximum=float(finite.max()),
                median=median,
                mad=mad,
                q1=float(q1),
                q3=float(q3),
            )
        )
    return QualityReference(tuple(features))


def check(
    reference: QualityReference, current: Columns, settings: QualitySettings | None = None
) -> QualityReport:
    """Judge `current` against `reference`: per feature, schema, totals and composite score."""
    settings = settings or QualitySettings()
    rows = _check_lengths(current)
    reference_names = set(reference.feature_names)
    missing_features = tuple(f.name for f in reference.features if f.name not in current)
    unexpected = tuple(name for name in current if name not in reference_names)
    features = tuple(
        _check_feature(ref, current[ref.name], settings)
        for ref in reference.features
        if ref.name in current
    )
    cells = rows * len(features)
    numeric = [f for f in features if f.kind == "numeric"]
    categorical = [f for f in features if f.kind == "categorical"]
    checked_numbers = sum(f.checked for f in numeric)
    checked_labels = sum(f.checked for f in categorical)
    rates = {
        "missing": _ratio(sum(f.missing_count for f in features), cells),
        "type_violations": _ratio(sum(f.type_violations for f in features), cells),
        "out_of_range": _ratio(sum(f.out_of_range for f in numeric), checked_numbers),
        "outliers": _ratio(sum(f.outliers for f in numeric), checked_numbers),
        "new_categories": _ratio(sum(f.new_category_count for f in categorical), checked_labels),
        "schema": _ratio(
            len(missing_features) + len(unexpected), len(reference_names) + len(unexpected)
        ),
    }
    return QualityReport(
        rows=rows,
        features=features,
        missing_features=missing_features,
        unexpected_features=unexpected,
        missing_values_rate=rates["missing"],
        type_violation_rate=rates["type_violations"],
        out_of_range_rate=rates["out_of_range"],
        outlier_rate=rates["outliers"],
        new_category_rate=rates["new_categories"],
        schema_violation_rate=rates["schema"],
        score=1.0 - _weighted_badness(rates, settings.weights),
        weights=settings.weights,
    )


def _weighted_badness(rates: Mapping[str, float], weights: QualityWeights) -> float:
    """`sum(weight * rate) / sum(weight)` over the rates given, in [0, 1]."""
    total = sum(getattr(weights, name) for name in rates)
    if total == 0:
        return 0.0
    badness = sum(getattr(weights, name) * rate for name, rate in rates.items()) / total
    return min(max(badness, 0.0), 1.0)


def _check_feature(
    ref: FeatureReference, column: np.ndarray, settings: QualitySettings
) -> FeatureQuality:
    cells = _classify(column)
    rows = column.shape[0]
    allowed = bounds = None
    out_of_range = outliers = new_count = new_distinct = 0
    new_categories: tuple[tuple[str, int], ...] = ()
    if ref.kind == "numeric":
        type_violations = int(cells.other.sum())
        numbers = cells.values[cells.finite]
        huge = int(cells.huge.sum())
        checked = int(numbers.size) + huge
        allowed = expected_range(ref, settings.range_tolerance)
        bounds = outlier_bounds(ref, settings)
        if allowed is not None:
            out_of_range = _count_outside(numbers, allowed) + huge
        if bounds is not None:
            outliers = _count_outside(numbers, bounds) + huge
    else:
        type_violations = 0
        labels = _labels(column, cells)
        checked = int(labels.size)
        known = np.array(ref.categories, dtype=object)
        unseen = labels[~np.isin(labels, known)] if known.size else labels
        new_count = int(unseen.size)
        if new_count:
            names, counts = np.unique(unseen, return_counts=True)
            order = np.argsort(-counts, kind="stable")[: settings.max_new_categories]
            new_distinct = int(names.size)
            new_categories = tuple((str(names[i]), int(counts[i])) for i in order)
    missing = int(cells.missing.sum())
    severity = _weighted_badness(
        {
            "missing": _ratio(missing, rows),
            "type_violations": _ratio(type_violations, rows),
            "out_of_range": _ratio(out_of_range, checked),
            "outliers": _ratio(outliers, checked),
            "new_categories": _ratio(new_count, checked),
        },
        settings.weights,
    )
    return FeatureQuality(
        name=ref.name,
        kind=ref.kind,
        rows=rows,
        null_count=int(cells.null.sum()),
        nan_count=int(cells.nan.sum()),
        posinf_count=int(cells.posinf.sum()),
        neginf_count=int(cells.neginf.sum()),
        empty_count=int(cells.empty.sum()),
        type_violations=type_violations,
        checked=checked,
        out_of_range=out_of_range,
        outliers=outliers,
        new_category_count=new_count,
        new_category_distinct=new_distinct,
        new_categories=new_categories,
        expected_range=allowed,
        outlier_bounds=bounds,
        severity=severity,
    )


def expected_range(ref: FeatureReference, tolerance: float) -> tuple[float, float] | None:
    """The reference's [min, max] widened by `tolerance` times its span on each side."""
    if ref.minimum is None or ref.maximum is None:
        return None
    slack = tolerance * (ref.maximum - ref.minimum)
    return (ref.minimum - slack, ref.maximum + slack)


def outlier_bounds(ref: FeatureReference, settings: QualitySettings) -> tuple[float, float] | None:
    """Values strictly outside these bounds are outliers.

    A zero spread (more than half the reference equal for MAD, a quarter-to-three-quarter tie
    for IQR) gives no robust scale, so such a feature is left to the range check rather than
    flagging every value that differs from the median.
    """
    if settings.outlier_method == "mad":
        if ref.median is None or not ref.mad:
            return None
        reach = settings.mad_threshold * ref.mad / MAD_CONSISTENCY
        return (ref.median - reach, ref.median + reach)
    if ref.q1 is None or ref.q3 is None or ref.q3 == ref.q1:
        return None
    reach = settings.iqr_factor * (ref.q3 - ref.q1)
    return (ref.q1 - reach, ref.q3 + reach)


def _count_outside(values: np.ndarray, bounds: tuple[float, float]) -> int:
    low, high = bounds
    return int(np.count_nonzero((values < low) | (values > high)))


def _check_lengths(columns: Columns) -> int:
    lengths = {name: column.shape[0] for name, column in columns.items()}
    if len(set(lengths.values())) > 1:
        first = next(iter(lengths))
        odd = next(name for name, n in lengths.items() if n != lengths[first])
        raise ValueError(
            f"feature {odd!r} has {lengths[odd]} rows but {first!r} has {lengths[first]}"
        )
    return next(iter(lengths.values()), 0)


def as_columns(data: Any, feature_names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Columns from a mapping of name to values, or from a 2-D array whose columns are features.

    Lists are kept as object arrays when mixed, so that a string among numbers stays a string
    (numpy would otherwise turn every value into text).
    """
    if isinstance(data, Mapping):
        return {str(name): _as_column(name, values) for name, values in data.items()}
    table = data if isinstance(data, np.ndarray) else np.array(data, dtype=object)
    if table.ndim != 2:
        raise ValueError(
            f"expected a 2-D array (rows x features) or a mapping, got {table.ndim} dimension(s)"
        )
    names = _feature_names(feature_names, table.shape[1])
    return {name: _as_column(name, table[:, i]) for i, name in enumerate(names)}


def _feature_names(feature_names: Iterable[str] | None, width: int) -> list[str]:
    if feature_names is None:
        return [f"feature_{i}" for i in range(width)]
    names = [str(name) for name in feature_names]
    if len(names) != width:
        raise ValueError(f"{len(names)} feature names given for {width} columns")
    return names


def _as_column(name: object, values: Any) -> np.ndarray:
    column = values if isinstance(values, np.ndarray) else np.asarray(values)
    if column.dtype.kind in "USO" and not isinstance(values, np.ndarray):
        column = np.array(values, dtype=object)
    elif column.dtype.kind in "US":
        column = column.astype(object)
    if column.ndim != 1:
        raise ValueError(f"feature {name!r} must be one-dimensional")
    return column


class DataQualityMonitor:
    """Library entry point: `set_reference(data)` once, then `check_quality(data)` per batch.

    `data` is a mapping of feature name to values, or a 2-D array whose columns are the
    features (named `feature_names`, else `feature_0`, `feature_1`, ...).
    """

    def __init__(
        self,
        settings: QualitySettings | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.settings = settings or QualitySettings()
        self.feature_names = tuple(feature_names) if feature_names is not None else None
        self._reference: QualityReference | None = None

    @property
    def reference(self) -> QualityReference | None:
        return self._reference

    def set_reference(self, data: Any) -> QualityReference:
        self._reference = build_quality_reference(
            as_columns(data, self.feature_names), self.settings
        )
        return self._reference

    def check_quality(self, data: Any) -> QualityReport:
        if self._reference is None:
            raise RuntimeError("call set_reference(data) before check_quality(data)")
        return check(self._reference, as_columns(data, self.feature_names), self.settings)


DataQualityChecker = DataQualityMonitor
"""The old module's other name for `DataQualityMonitor`."""
