"""The old API's `data` arguments as the engines' feature columns, refused with a clear error
when they cannot be.

`data` is what a model server written for the old module passes to `set_reference_data`,
`check_drift` and `check_data_quality`: a 2-D array whose columns are the features (named by
`feature_names`, else `feature_0`, `feature_1`, ...), a list of rows (lists of the same
length), a list of values (one feature, as a 1-D array is), or a list of dicts (feature name
to value; a key absent from a row is a missing value). Values are what the engines take:
numbers (NaN and infinities are missing values), and in rows, dicts or an object array also
strings (category labels), booleans and None.

Refused with `ValueError` naming what is wrong, before any engine runs: a string or a scalar
for `data`, an array of more than two dimensions, an array of strings (numbers written as text
would silently become categories; a list of dicts carries real categories), rows of unequal
length, rows mixed with dicts or values, no rows, no features, more features than
`max_features`, more than `MAX_CELLS` values, feature names that are not unique non-empty
strings, and predictions that are not one value per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MAX_FEATURES = 500
"""The runtime's `[runtime] max_features` default: what the engines see of one model."""
MAX_FEATURES_LIMIT = 10_000
"""Upper bound of `max_features`, as the config's."""
MAX_CELLS = 50_000_000
"""Most values (rows x features) in one call: 400 MB as float64, which each engine copies."""


def feature_columns(
    data: Any,
    feature_names: Sequence[str] | None,
    *,
    what: str,
    max_features: int,
    reference_names: Sequence[str] | None = None,
    only: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """`data` as one array per feature, all of one length (see the module docstring).

    `reference_names` are the columns of an array reference: an array's columns are named
    by them (when `feature_names` is None) and must be as many. `only` (the features drift
    judges) leaves the other keys of dicts out before they are counted, so keys a client
    added never push a batch past `max_features`."""
    import numpy as np

    if not _is_rows(data):
        raise ValueError(
            f"{what}: data must be a 2-D array (rows x features) or a list of dicts, "
            f"got {type(data).__name__}"
        )
    names, source = feature_names, "feature_names has"
    if names is None and reference_names is not None:
        names, source = reference_names, "the reference has"
    if isinstance(data, np.ndarray):
        return _array_columns(data, names, what=what, max_features=max_features,
                              source=source)
    rows = list(data)
    if not rows:
        raise ValueError(f"{what}: data has no rows")
    if all(isinstance(row, Mapping) for row in rows):
        if feature_names is not None:
            raise ValueError(f"{what}: feature_names apply to an array; a list of dicts "
                             "names its features by its keys")
        return _record_columns(rows, what=what, max_features=max_features, only=only)
    if not any(isinstance(row, Mapping) or _is_rows(row) for row in rows):
        return _array_columns(_numeric_if_possible(_object_array(rows)), names, what=what,
                              max_features=max_features, source=source)
    first = type(rows[0]).__name__
    dicts = isinstance(rows[0], Mapping)
    for index, row in enumerate(rows):
        if (not isinstance(row, Mapping)) if dicts else not _is_rows(row):
            shape = "a dict" if dicts else "a list of values"
            raise ValueError(
                f"{what}: row {index} is a {type(row).__name__} and row 0 {shape} ({first}); "
                "data must be rows of values (lists of one length), dicts, or values of one "
                "feature"
            )
        if len(row) != len(rows[0]):
            raise ValueError(
                f"{what}: row {index} has {len(row)} values but row 0 has {len(rows[0])}; "
                "every row needs one value per feature"
            )
    table = np.empty((len(rows), len(rows[0])), dtype=object)
    _check_size(len(rows), len(rows[0]), what=what, max_features=max_features)
    for index, row in enumerate(rows):
        table[index, :] = list(row)
    return _array_columns(_numeric_if_possible(table), names, what=what,
                          max_features=max_features, source=source)


def one_per_row(values: Any, rows: int, *, what: str, name: str) -> np.ndarray:
    """`values` (predictions) as a 1-D array of one value per row."""
    import numpy as np

    if not _is_rows(values):
        raise ValueError(f"{what}: {name} must be one value per row, got "
                         f"{type(values).__name__}")
    array = values if isinstance(values, np.ndarray) else _object_array(list(values))
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{what}: {name} must be one value per row (1-D), got an array of "
                         f"shape {array.shape}")
    if array.shape[0] != rows:
        raise ValueError(f"{what}: {array.shape[0]} {name} for {rows} rows of data; they "
                         "pair by row")
    if array.dtype.kind in "US":
        array = array.astype(object)
    return _numeric_if_possible(array)


def figures(metrics: Any, *, what: str) -> dict[str, float]:
    """A dict of performance figures (name to finite number), as the old API passed them;
    numpy scalars (`np.float32(0.9)` from a framework's metric) are numbers too."""
    import math
    import numbers

    if not isinstance(metrics, Mapping):
        raise ValueError(f"{what}: performance figures must be a dict of name to number, got "
                         f"{type(metrics).__name__}")
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{what}: a figure's name must be a non-empty str, got {key!r}")
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{what}: figure {key!r} must be a number, got "
                             f"{type(value).__name__}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError(f"{what}: figure {key!r} must be finite, got {value!r}")
        out[key] = number
    return out


def _is_rows(data: Any) -> bool:
    """An array, or a list or tuple (a sequence that is not text)."""
    import numpy as np

    if isinstance(data, np.ndarray):
        return True
    return isinstance(data, Sequence) and not isinstance(data, str | bytes | bytearray)


def _array_columns(
    data: np.ndarray, feature_names: Sequence[str] | None, *, what: str, max_features: int,
    source: str,
) -> dict[str, np.ndarray]:
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise ValueError(f"{what}: data must be 2-D (rows x features), got an array of shape "
                         f"{data.shape}")
    if data.dtype.kind in "USV":
        raise ValueError(
            f"{what}: data is an array of {data.dtype} (text); pass numbers, or a list of "
            "dicts whose string values are categories"
        )
    if data.dtype.kind not in "biufO":
        raise ValueError(f"{what}: data of dtype {data.dtype} is not numbers")
    rows, width = data.shape
    if rows == 0:
        raise ValueError(f"{what}: data has no rows")
    _check_size(rows, width, what=what, max_features=max_features)
    names = _names(feature_names, width, what=what, source=source)
    if data.dtype.kind == "b":
        data = data.astype(object)
    return {name: data[:, i] for i, name in enumerate(names)}


def _record_columns(
    rows: list[Mapping[str, Any]], *, what: str, max_features: int,
    only: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    import numpy as np

    names: dict[str, None] = {}
    for index, row in enumerate(rows):
        for key in row:
            if only is not None and key not in only:
                continue
            if not isinstance(key, str) or not key:
                raise ValueError(f"{what}: row {index} names a feature {key!r}; names must "
                                 "be non-empty str")
            if key not in names:
                names[key] = None
                if len(names) > max_features:
                    raise ValueError(f"{what}: data has more than {max_features} features "
                                     "(max_features)")
    if not names and only is not None:
        raise ValueError(f"{what}: data has none of the reference's features "
                         f"({listed(only)}); nothing could drift")
    if not names:
        raise ValueError(f"{what}: data has no features (every dict is empty)")
    _check_size(len(rows), len(names), what=what, max_features=max_features)
    columns: dict[str, np.ndarray] = {}
    for name in names:
        column = np.empty(len(rows), dtype=object)
        column[:] = [row.get(name) for row in rows]
        columns[name] = column
    return columns


def listed(names: Iterable[str], most: int = 5) -> str:
    """The first `most` names, for an error message."""
    names = list(names)
    shown = ", ".join(names[:most])
    return f"{shown}, ... ({len(names)})" if len(names) > most else shown


def _check_size(rows: int, width: int, *, what: str, max_features: int) -> None:
    if width == 0:
        raise ValueError(f"{what}: data has no features (0 columns)")
    if width > max_features:
        raise ValueError(f"{what}: data has {width} features, more than max_features "
                         f"({max_features})")
    if rows * width > MAX_CELLS:
        raise ValueError(f"{what}: data has {rows} x {width} values, more than {MAX_CELLS} "
                         "in one call; pass it in parts")


def _names(
    feature_names: Sequence[str] | None, width: int, *, what: str, source: str
) -> tuple[str, ...]:
    if feature_names is None:
        return tuple(f"feature_{i}" for i in range(width))
    if isinstance(feature_names, str):
        raise ValueError(f"{what}: feature_names must be a list of names, got a str")
    names = tuple(feature_names)
    if len(names) != width:
        raise ValueError(f"{what}: data has {width} columns but {source} {len(names)} "
                         f"({', '.join(names[:5])}{', ...' if len(names) > 5 else ''})")
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{what}: feature name {name!r} must be a non-empty str")
    if len(set(names)) != len(names):
        twice = sorted({name for name in names if names.count(name) > 1})
        raise ValueError(f"{what}: feature_names repeat {', '.join(map(repr, twice))}")
    return names


def _object_array(values: list[Any]) -> np.ndarray:
    import numpy as np

    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _numeric_if_possible(array: np.ndarray) -> np.ndarray:
    """An object array of plain numbers (not bools) as float64, which the engines take fastest;
    anything else stays as it is, to be classified value by value."""
    import numpy as np

    if array.dtype != object or array.size == 0:
        return array
    flat = array.ravel().tolist()
    if all(type(value) in (float, int) for value in flat):
        try:
            return array.astype(np.float64)
        except OverflowError:
            return array
    return array
