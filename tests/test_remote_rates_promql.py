"""A target's latency quantiles between two scrapes equal what a real Prometheus answers for
`histogram_quantile(q, sum by (le) (increase(bucket[1m])))` over the same two samples, and
its throughput what `sum(increase())` gives (`promtool test rules` evaluates them): resets,
one instance of two restarting, falling buckets, bounds at or below zero and sub-millisecond
bounds included."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import yaml
from realservers import require_binary

from neural_tui.config import DEFAULT_LATENCY_BUCKETS_MS
from neural_tui.sources.exposition import ScrapedModel, parse_exposition
from neural_tui.sources.remote_rates import QUANTILES, window_rates

SUB_MS = tuple(ms / 1000 for ms in DEFAULT_LATENCY_BUCKETS_MS)

Counts = tuple[float, ...]
# (bounds in seconds, each instance's cumulative counts at the first scrape then at the second,
# the +Inf bucket last)
CASES: dict[str, tuple[tuple[float, ...], dict[str, tuple[Counts, Counts]]]] = {
    "plain": ((0.1, 0.2, 0.4), {"a": ((0, 0, 0, 0), (10, 30, 40, 50))}),
    "grown": ((0.1, 0.2, 0.4), {"a": ((5, 10, 20, 30), (15, 40, 60, 80))}),
    "reset": ((0.1, 0.2, 0.4), {"a": ((100, 200, 300, 400), (10, 30, 40, 50))}),
    "falling": ((0.1, 0.2, 0.4), {"a": ((0, 10, 0, 0), (10, 15, 40, 50))}),
    "at_or_below_zero": ((-1.0, 0.0, 1.0), {"a": ((0, 0, 0, 0), (5, 5, 8, 10))}),
    "mostly_above": ((0.001, 0.002), {"a": ((0, 0, 0), (1, 2, 100))}),
    "sub_millisecond": (SUB_MS, {"a": ((0,) * (len(SUB_MS) + 1),
                                       (*(min(3 * i, 40) for i in range(len(SUB_MS))), 41))}),
    "one_of_two_instances_restarted": ((0.1, 0.2, 0.4), {
        "a": ((1_000, 2_000, 3_000, 4_000), (1, 2, 3, 4)),
        "b": ((10, 20, 30, 40), (50, 60, 70, 80))}),
}


def scraped(bounds: tuple[float, ...], instances: dict[str, Counts]) -> ScrapedModel:
    """What a target's body of these instances' histograms reads as."""
    les = [*(repr(bound) for bound in bounds), "+Inf"]
    lines = []
    for instance, counts in instances.items():
        labels = f'model="m",instance="{instance}"'
        lines.append(f"neural_predictions_total{{{labels}}} {counts[-1]:g}")
        lines += [f'neural_prediction_latency_seconds_bucket{{{labels},le="{le}"}} {n:g}'
                  for le, n in zip(les, counts, strict=True)]
    return parse_exposition("\n".join(lines) + "\n").models[("m", "")]


def promtool_case(name: str, bounds: tuple[float, ...],
                  instances: dict[str, tuple[Counts, Counts]]) -> dict[str, object]:
    """One promtool test: the buckets sampled a minute apart, and our rate and quantiles (ms)
    as the samples Prometheus must give."""
    rates = window_rates(scraped(bounds, {i: before for i, (before, _) in instances.items()}),
                         scraped(bounds, {i: after for i, (_, after) in instances.items()}),
                         60.0)
    les = [*(repr(bound) for bound in bounds), "+Inf"]
    selector = f'h_bucket{{case="{name}"}}'
    expected = [(f"sum(increase(h_bucket{{case=\"{name}\",le=\"+Inf\"}}[1m])) / 60",
                 rates.throughput_rps)]
    expected += [(f"1000 * histogram_quantile({q}, sum by (le) (increase({selector}[1m])))",
                  value)
                 for q, value in zip(QUANTILES, (rates.latency_p50_ms, rates.latency_p95_ms,
                                                 rates.latency_p99_ms), strict=True)]
    return {
        "interval": "1m",
        "input_series": [{"series": f'h_bucket{{case="{name}",instance="{instance}",le="{le}"}}',
                          "values": f"{b:g} {a:g}"}
                         for instance, (before, after) in instances.items()
                         for le, b, a in zip(les, before, after, strict=True)],
        "promql_expr_test": [{"expr": expr, "eval_time": "1m",
                              "exp_samples": [{"labels": "{}", "value": value}]}
                             for expr, value in expected],
    }


@pytest.mark.real_server
def test_quantiles_between_two_scrapes_equal_prometheus_histogram_quantile(tmp_path: Path):
    promtool = require_binary("promtool", "apt-get install prometheus")
    tests = [promtool_case(name, bounds, instances)
             for name, (bounds, instances) in CASES.items()]
    for test in tests:
        for expr in test["promql_expr_test"]:  # type: ignore[attr-defined]
            (sample,) = expr["exp_samples"]
            assert sample["value"] is not None and math.isfinite(sample["value"])
    file = tmp_path / "quantiles.test.yml"
    file.write_text(yaml.safe_dump({"rule_files": [], "tests": tests}), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", str(file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
