"""Fixtures shared by the whole suite: real servers, and snapshots built by hand."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from realservers import Prometheus, require_binary

from neural_tui.runtime.snapshot import LATENCY_BUCKETS_SECONDS, LatencyHistogram, ModelSnapshot

StartPrometheus = Callable[[list[str]], Prometheus]


@pytest.fixture(autouse=True)
def drop_stderr_log_handlers() -> Iterator[None]:
    """Remove the root handler `cli.main` installs on the test's captured stderr, which is
    closed once the test ends: a later test's log line would print a logging error there."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[StartPrometheus]:
    """Start a real Prometheus scraping the given `host:port` targets every second.

    A factory, because the targets must be listening before Prometheus starts; every server it
    started is stopped at teardown.
    """
    binary = require_binary("prometheus", "apt-get install prometheus")
    started: list[Prometheus] = []

    def start(targets: list[str]) -> Prometheus:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        prometheus = Prometheus(binary, workdir, targets)
        started.append(prometheus)
        prometheus.start()
        return prometheus

    yield start
    for prometheus in started:
        prometheus.stop()


def _model_snapshot(
    name: str = "churn",
    version: str = "1.0",
    *,
    predictions_total: int = 0,
    errors_total: dict[str, int] | None = None,
    latency: LatencyHistogram | None = None,
    last_record_at: float | None = None,
    **overrides: Any,
) -> ModelSnapshot:
    fields: dict[str, Any] = {
        "labels_total": 0,
        "labels_joined": 0,
        "window_seconds": 300.0,
        "throughput_rps": 0.0,
        "error_rate": 0.0,
        "latency_p50_ms": None,
        "latency_p95_ms": None,
        "latency_p99_ms": None,
        "throughput_series": (),
        "error_rate_series": (),
        "latency_p95_series": (),
        **overrides,
    }
    return ModelSnapshot(
        name=name,
        version=version,
        predictions_total=predictions_total,
        errors_total=errors_total or {},
        latency=latency or LatencyHistogram((0,) * len(LATENCY_BUCKETS_SECONDS), 0, 0.0),
        last_record_at=last_record_at,
        **fields,
    )


@pytest.fixture
def make_model_snapshot() -> Callable[..., ModelSnapshot]:
    """Build a `ModelSnapshot` naming only the fields a test cares about; the rest are empty."""
    return _model_snapshot
