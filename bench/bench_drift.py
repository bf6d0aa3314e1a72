"""Drift engine speed against a per-feature scipy loop measured in the same run.

50 numeric features (seeded normals). For each pair of sizes, the engine's time is building
the reference plus the full report (KS statistic and p-value, PSI, Wasserstein, JS, new
categories, corrections); the baseline is a loop of `ks_2samp` (scipy's default method) plus
`wasserstein_distance` per feature. The ratio printed is engine / baseline: lower is faster,
0.2x means five times as fast.

The sizes are where users put them: equal sizes, then a 10,000-row reference file against a
1,000-row window and 5,000 x 500. With a reference over `small_reference_rows` (1,000) the
Wasserstein distance decides, so the engine takes the asymptotic KS p-value there (and says so
in `ks_p_value_method`), where scipy's default computes the exact one for unequal sizes; a
last pair with a 1,000-row reference, where KS decides and both compute the exact p-value,
shows that case. Then `detect` on a 1,000,000-row window and the peak RSS.

Run: .venv/bin/python bench/bench_drift.py
"""

import resource
import time

import numpy as np
from scipy import stats

from neural_tui.engines.drift import build_reference, detect

FEATURES = 50
REPEATS = 7
NAMES = [f"f{i}" for i in range(FEATURES)]
SIZES = ((10_000, 10_000), (10_000, 1_000), (5_000, 500), (1_000, 1_000), (1_000, 500))


def _best_of_alternating(first, second):
    """Best time of each, their rounds alternating so that a burst of load hits both."""
    best = [float("inf"), float("inf")]
    for _ in range(REPEATS):
        for i, fn in enumerate((first, second)):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _compare(reference, current):
    columns = {n: reference[:, i] for i, n in enumerate(NAMES)}
    window = {n: current[:, i] for i, n in enumerate(NAMES)}

    def scipy_loop():
        for i in range(FEATURES):
            stats.ks_2samp(reference[:, i], current[:, i])
            stats.wasserstein_distance(reference[:, i], current[:, i])

    def engine():
        detect(build_reference(columns), window)

    baseline, took = _best_of_alternating(scipy_loop, engine)
    methods = {f.ks_p_value_method for f in detect(build_reference(columns), window).features}
    print(f"  {len(reference):>6,} x {len(current):>6,}: scipy loop {baseline * 1000:8.1f} ms, "
          f"engine (reference included) {took * 1000:8.1f} ms, ratio {took / baseline:.2f}x "
          f"(KS p-value: {', '.join(sorted(m for m in methods if m))})")


def main():
    rng = np.random.default_rng(2024)
    print(f"{FEATURES} features, reference x window rows, best of {REPEATS}; target 0.2x or less")
    for n_reference, n_current in SIZES:
        _compare(
            rng.normal(size=(n_reference, FEATURES)),
            rng.normal(0.05, 1.1, size=(n_current, FEATURES)),
        )

    profile = build_reference({n: rng.normal(size=10_000) for n in NAMES})
    big = {n: rng.normal(0.02, 1, size=1_000_000) for n in NAMES}
    start = time.perf_counter()
    report = detect(profile, big)
    elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"1,000,000-row window, {FEATURES} features: {elapsed:.2f} s, "
          f"{len(report.features)} features reported")
    print(f"  peak RSS {peak_mb:.0f} MB (the window itself is {FEATURES * 8} MB)")


if __name__ == "__main__":
    main()
