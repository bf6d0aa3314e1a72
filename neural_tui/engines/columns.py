"""Feature columns as the engines see them, and the one place where raw values become typed.

Engines take `Mapping[str, np.ndarray]`: one array per feature, all of the same length. An array
may be float (already numeric, NaN for missing) or object (raw JSON values: float, int, bool,
str, None, or a nested list or object). The helpers here turn either into a numeric or
categorical view in bulk.

Values come from logs and are untrusted, so no value can make a conversion raise: an integer
beyond float range (JSON allows 400 digits), or any number beyond `MAX_MAGNITUDE`, reads as
+-inf with its sign, which every engine treats as it treats an infinite float, and
`beyond_float` tells the two apart for data quality;
a value whose text cannot be made (nested too deep, too many digits) gets a label naming its type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

FeatureKind = Literal["numeric", "categorical"]
Columns = Mapping[str, np.ndarray]

MAX_MAGNITUDE = 1e150
"""Numbers larger in magnitude read as +-inf, as a 400-digit integer does: their squares
(variances, the scale Wasserstein is normed by) would overflow a float and leave a statistic
undefined, which must never read as "no drift"."""

_is_number = np.frompyfunc(
    lambda v: isinstance(v, int | float) and not isinstance(v, bool), 1, 1
)


def numeric_mask(column: np.ndarray) -> np.ndarray:
    """True where the value is a real number (bools and strings are not)."""
    if column.dtype.kind in "fiu":
        return np.ones(column.shape[0], dtype=bool)
    if column.dtype.kind == "b" or column.shape[0] == 0:
        return np.zeros(column.shape[0], dtype=bool)
    return _is_number(column).astype(bool)


def to_numeric(column: np.ndarray) -> np.ndarray:
    """Float64 view of a column: numbers kept (NaN and inf included), everything else NaN.

    An integer beyond float range becomes +-inf, so one 400-digit value cannot stop the rest.
    """
    if column.dtype.kind in "fiu":
        return _capped(column.astype(np.float64, copy=False))
    out = np.full(column.shape[0], np.nan, dtype=np.float64)
    mask = numeric_mask(column)
    if mask.any():
        out[mask] = numbers_to_float(column[mask])
    return out


def numbers_to_float(numbers: np.ndarray) -> np.ndarray:
    """Float64 array of an object array holding only numbers; integers beyond range are +-inf.

    The bulk conversion is tried first; only a batch that holds such an integer pays for the
    conversion value by value.
    """
    try:
        return _capped(numbers.astype(np.float64))
    except OverflowError:
        return _capped(_as_floats(numbers).astype(np.float64))


def _capped(values: np.ndarray) -> np.ndarray:
    """`values` with every magnitude beyond `MAX_MAGNITUDE` as +-inf (a copy only if any)."""
    with np.errstate(invalid="ignore"):
        big = np.abs(values) > MAX_MAGNITUDE
    if not big.any():
        return values
    capped = values.copy()
    capped[big] = np.copysign(np.inf, values[big])
    return capped


def as_float(value: Any) -> float:
    """One number as a float: an integer beyond float range is +-inf, its sign kept."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


_as_floats = np.frompyfunc(as_float, 1, 1)


def number_or_nan(value: Any) -> float:
    """A JSON number as a float (see `as_float`); NaN for anything else, bools included."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return as_float(value)
    return math.nan


def beyond_float(column: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """True where the value is a number too large in magnitude to compute with: an integer
    beyond float range, or any number beyond `MAX_MAGNITUDE`, not an infinite float.

    `numbers` is the column's `to_numeric`, which reads such a value as +-inf.
    """
    out = np.zeros(column.shape[0], dtype=bool)
    infinite = np.flatnonzero(np.isinf(numbers))
    if infinite.shape[0] == 0:
        return out
    if column.dtype != object:
        out[infinite] = np.isfinite(column[infinite].astype(np.float64))
        return out
    out[infinite] = [
        isinstance(v, int | float) and not isinstance(v, bool) and not _is_infinite_float(v)
        for v in column[infinite].tolist()
    ]
    return out


def _is_infinite_float(value: Any) -> bool:
    return isinstance(value, float) and math.isinf(value)


def to_categorical(column: np.ndarray) -> np.ndarray:
    """Object array of category labels (`str`), `None` where the value is missing.

    Booleans become `"true"`/`"false"` as JSON writes them; numbers their shortest text, so
    that `1` and `1.0` are one category.
    """
    if column.shape[0] == 0:
        return np.empty(0, dtype=object)
    return _as_label(column.astype(object, copy=False)).astype(object)


def _label(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:
            return None
        return repr(int(value)) if value.is_integer() else repr(value)
    return safe_text(value)


def safe_text(value: Any) -> str:
    """`str(value)`, or `<type>` when Python cannot spell it (nested too deep, too many digits)."""
    try:
        return str(value)
    except (RecursionError, ValueError):
        return f"<{type(value).__name__}>"


_as_label = np.frompyfunc(_label, 1, 1)


def infer_kind(column: np.ndarray) -> FeatureKind:
    """Numeric when most present values are numbers, categorical otherwise.

    A column of numbers with few distinct values is still numeric: the choice of test for few
    distinct values is the drift engine's, not this function's.
    """
    present = np.array([v is not None and v != "" for v in column.tolist()], dtype=bool) if (
        column.dtype == object
    ) else ~np.isnan(column.astype(np.float64, copy=False))
    if not present.any():
        return "numeric"
    share = numeric_mask(column)[present].mean()
    return "numeric" if share >= 0.5 else "categorical"


def columns_from_records(records: Sequence[Mapping[str, Any] | None]) -> dict[str, np.ndarray]:
    """Object columns from a list of `input_features` dicts; absent keys become `None`."""
    names: dict[str, None] = {}
    for record in records:
        if record:
            names.update(dict.fromkeys(record))
    n = len(records)
    columns: dict[str, np.ndarray] = {}
    for name in names:
        column = np.empty(n, dtype=object)
        column[:] = [r.get(name) if r else None for r in records]
        columns[name] = column
    return columns
