"""A target's latency quantiles between two scrapes equal what a real Prometheus answers for
`histogram_quantile(q, increase(bucket[1m]))` over the same two samples (`promtool test
rules` evaluates it): resets, falling buckets, bounds at or below zero and sub-millisecond
bounds included."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pytest
import yaml
from realservers import require_binary
from scraped import scraped_model

from neural_tui.config import DEFAULT_LATENCY_BUCKETS_MS
from neural_tui.sources.exposition import ScrapedModel
from neural_tui.sources.remote_rates import QUANTILES, window_rates

SUB_MS = tuple(ms / 1000 for ms in DEFAULT_LATENCY_BUCKETS_MS)

# (bounds in seconds, cumulative counts of the first scrape then of the second, each with the
# +Inf bucket last)
CASES = {
    "plain": ((0.1, 0.2, 0.4), (0, 0, 0, 0), (10, 30, 40, 50)),
    "grown": ((0.1, 0.2, 0.4), (5, 10, 20, 30), (15, 40, 60, 80)),
    "reset": ((0.1, 0.2, 0.4), (100, 200, 300, 400), (10, 30, 40, 50)),
    "falling": ((0.1, 0.2, 0.4), (0, 10, 0, 0), (10, 15, 40, 50)),
    "at_or_below_zero": ((-1.0, 0.0, 1.0), (0, 0, 0, 0), (5, 5, 8, 10)),
    "mostly_above": ((0.001, 0.002), (0, 0, 0), (1, 2, 100)),
    "sub_millisecond": (SUB_MS, (0,) * (len(SUB_MS) + 1),
                        (*(min(3 * i, 40) for i in range(len(SUB_MS))), 41)),
}


def scraped(bounds: tuple[float, ...], counts: tuple[float, ...]) -> ScrapedModel:
    return scraped_model(counts[-1], {}, bounds, counts[:-1], counts[-1])


def promtool_case(name: str, bounds: tuple[float, ...], before: tuple[float, ...],
                  after: tuple[float, ...]) -> dict[str, object]:
    """One promtool test: the buckets sampled a minute apart, and our quantiles (ms) as the
    samples Prometheus must give."""
    rates = window_rates(scraped(bounds, before), scraped(bounds, after), 60.0)
    ours = (rates.latency_p50_ms, rates.latency_p95_ms, rates.latency_p99_ms)
    les = [repr(bound) for bound in bounds] + ["+Inf"]
    return {
        "interval": "1m",
        "input_series": [{"series": f'h_bucket{{case="{name}",le="{le}"}}',
                          "values": f"{b:g} {a:g}"}
                         for le, b, a in zip(les, before, after, strict=True)],
        "promql_expr_test": [
            {"expr": f'1000 * histogram_quantile({q}, increase(h_bucket{{case="{name}"}}[1m]))',
             "eval_time": "1m",
             "exp_samples": [{"labels": f'{{case="{name}"}}', "value": value}]}
            for q, value in zip(QUANTILES, ours, strict=True)
        ],
    }


@pytest.mark.real_server
def test_quantiles_between_two_scrapes_equal_prometheus_histogram_quantile(tmp_path: Path):
    promtool = require_binary("promtool", "apt-get install prometheus")
    tests = [promtool_case(name, *case) for name, case in CASES.items()]
    for test in tests:
        for expr in test["promql_expr_test"]:  # type: ignore[attr-defined]
            (sample,) = expr["exp_samples"]
            assert sample["value"] is not None and math.isfinite(sample["value"])
    file = tmp_path / "quantiles.test.yml"
    file.write_text(yaml.safe_dump({"rule_files": [], "tests": tests}), encoding="utf-8")
    result = subprocess.run([promtool, "test", "rules", str(file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
