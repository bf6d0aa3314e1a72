"""Fixtures shared by the whole suite: no config discovery, no logging left behind, and
real servers (snapshots are built by `factories`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from realservers import Alertmanager, Prometheus, require_binary

from neural_tui.config import CONFIG_ENV
from neural_tui.sources.tail import TailSource

StartPrometheus = Callable[[list[str]], Prometheus]


@pytest.fixture(autouse=True)
def no_config_discovery(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep a developer's own config out of every test, and out of the processes it starts.

    `$NEURAL_TUI_CONFIG` is unset and each test runs from an empty directory of its own, so
    neither a config named by the environment nor a `./neural-tui.toml` is discovered. A test
    of discovery opts back in by setting the variable or writing `./neural-tui.toml` itself.
    """
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def no_root_log_handler_left_behind() -> Iterator[None]:
    """A command run in process points the root logger at the stderr of the moment, which is
    closed once the test ends: its handler and level go, so no later test logs to it."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in before]:
        if type(handler) is logging.StreamHandler:
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


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[[str], Alertmanager]]:
    """Start a real Alertmanager whose notifications go to the given webhook URL; stopped at
    teardown."""
    binary = require_binary("prometheus-alertmanager", "apt-get install prometheus-alertmanager")
    started: list[Alertmanager] = []

    def start(webhook_url: str) -> Alertmanager:
        workdir = tmp_path / f"alertmanager-{len(started)}"
        workdir.mkdir()
        alertmanager = Alertmanager(binary, workdir, webhook_url)
        started.append(alertmanager)
        alertmanager.start()
        return alertmanager

    yield start
    for alertmanager in started:
        alertmanager.stop()


@pytest.fixture
def predictions(tmp_path: Path) -> Path:
    """An empty `predictions/` folder of a storage under `tmp_path`, for the tail's tests."""
    directory = tmp_path / "monitoring_data" / "predictions"
    directory.mkdir(parents=True)
    return directory


@pytest.fixture
async def source(predictions: Path) -> AsyncIterator[TailSource]:
    """A `TailSource` over that storage, polling fast, closed after the test."""
    async with TailSource(predictions.parent, poll_interval=0.01) as tail_source:
        yield tail_source
