"""Quality check of 50 features x 10,000 rows, against the same checks done cell by cell.

The baseline is what a per-record implementation has to do: put each cell in one class (null,
empty, NaN, +inf, -inf, type violation, checked), then test range and outlier bounds or the
category set. Both must agree on the counts; the ratio shows what the columnar engine buys.
Numeric features are given once as float columns and once as object columns of raw JSON values
(as decoded from storage), where per-value type checks bound what numpy can do.

Run: `.venv/bin/python bench/bench_quality.py`.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable

import numpy as np

from neural_tui.engines.quality import (
    QualityReference,
    QualitySettings,
    build_quality_reference,
    check,
    expected_range,
    outlier_bounds,
)

ROWS, NUMERIC, CATEGORICAL = 10_000, 40, 10


def make_columns(seed: int, as_objects: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(NUMERIC):
        values = rng.normal(0.0, 1.0, ROWS)
        values[rng.random(ROWS) < 0.01] = np.nan
        columns[f"n{i}"] = values.astype(object) if as_objects else values
    for i in range(CATEGORICAL):
        columns[f"c{i}"] = rng.choice(np.array(["a", "b", "c", "d", "e", ""], dtype=object), ROWS)
    return columns


def is_missing(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return value is None or value == ""


def per_cell(reference: QualityReference, columns: dict[str, np.ndarray]) -> Counter[str]:
    settings = QualitySettings()
    counts: Counter[str] = Counter()
    for ref in reference.features:
        values = columns[ref.name].tolist()
        if ref.kind == "categorical":
            known = set(ref.categories)
            for value in values:
                if value is None or value == "":
                    counts["missing"] += 1
                elif value not in known:
                    counts["new"] += 1
            continue
        low, high = expected_range(ref, settings.range_tolerance) or (-math.inf, math.inf)
        out_low, out_high = outlier_bounds(ref, settings) or (-math.inf, math.inf)
        for value in values:
            if is_missing(value):
                counts["missing"] += 1
            elif isinstance(value, bool) or not isinstance(value, int | float):
                counts["type"] += 1
            else:
                counts["out_of_range"] += not low <= value <= high
                counts["outliers"] += not out_low <= value <= out_high
    return counts


def best_of(runs: int, call: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare(as_objects: bool) -> None:
    reference = build_quality_reference(make_columns(1, as_objects))
    current = make_columns(2, as_objects)
    engine_time, report = best_of(5, lambda: check(reference, current))
    loop_time, counts = best_of(5, lambda: per_cell(reference, current))
    features = report.features  # type: ignore[attr-defined]
    assert counts["missing"] == sum(f.missing_count for f in features)
    assert counts["outliers"] == sum(f.outliers for f in features)
    assert counts["new"] == sum(f.new_category_count for f in features)
    kind = "raw JSON (object)" if as_objects else "float"
    print(
        f"numeric columns {kind:>17}: engine {engine_time * 1e3:6.1f} ms, "
        f"per-cell {loop_time * 1e3:6.1f} ms, engine is {loop_time / engine_time:4.1f}x faster"
    )


def main() -> None:
    for as_objects in (False, True):
        compare(as_objects)


if __name__ == "__main__":
    main()
