"""Fixtures shared by the whole suite: real servers (snapshots are built by `factories`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from realservers import Prometheus, require_binary

StartPrometheus = Callable[[list[str]], Prometheus]


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

