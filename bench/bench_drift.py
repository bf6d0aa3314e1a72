"""Drift engine speed against a per-feature scipy loop measured in the same run.

50 numeric features, 10,000 reference and 10,000 current rows (seeded). The engine's full report
(KS with p-values, PSI, Wasserstein, JS, corrections) against a loop of `ks_2samp` plus
`wasserstein_distance` per feature; at this size both compute the exact KS p-value, scipy's
default. Then the same with a 1,000-row window, for information: with unequal sizes the exact
p-value is scipy's own lattice-path count per feature in both, so the ratio is smaller. Last,
`detect` on a 1,000,000-row window and the peak RSS.

Run: .venv/bin/python bench/bench_drift.py
"""

import resource
import time

import numpy as np
from scipy import stats

from neural_tui.engines.drift import build_reference, detect

FEATURES = 50
ROWS = 10_000
REPEATS = 5
NAMES = [f"f{i}" for i in range(FEATURES)]


def _best_of(fn):
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _compare(reference, current, target):
    profile = build_reference({n: reference[:, i] for i, n in enumerate(NAMES)})
    window = {n: current[:, i] for i, n in enumerate(NAMES)}

    def scipy_loop():
        for i in range(FEATURES):
            stats.ks_2samp(reference[:, i], current[:, i])
            stats.wasserstein_distance(reference[:, i], current[:, i])

    baseline = _best_of(scipy_loop)
    engine = _best_of(lambda: detect(profile, window))
    print(f"{FEATURES} features, {len(reference):,} reference and {len(current):,} current rows "
          f"(best of {REPEATS})")
    print(f"  scipy loop (ks_2samp + wasserstein_distance): {baseline * 1000:8.1f} ms")
    print(f"  drift engine full report:                     {engine * 1000:8.1f} ms")
    print(f"  ratio: {baseline / engine:.1f}x ({target})")
    return profile


def main():
    rng = np.random.default_rng(2024)
    reference = rng.normal(size=(ROWS, FEATURES))
    profile = _compare(reference, rng.normal(0.05, 1.1, size=(ROWS, FEATURES)), "target >= 5x")
    _compare(reference, rng.normal(0.05, 1.1, size=(1_000, FEATURES)), "for information")

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
