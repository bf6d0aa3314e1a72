"""Specification of `DaemonExecutor`: the threads a source's file-system calls run in."""

from __future__ import annotations

import threading

import pytest

from neural_tui.sources import workers
from neural_tui.sources.workers import DaemonExecutor

WAIT_SECONDS = 10.0


def test_work_runs_in_daemon_threads_and_returns_its_result_or_exception() -> None:
    executor = DaemonExecutor(2, "test")

    def boom() -> None:
        raise OSError(5, "Input/output error")

    assert executor.submit(lambda: threading.current_thread().daemon).result(WAIT_SECONDS)
    with pytest.raises(OSError, match="Input/output error"):
        executor.submit(boom).result(WAIT_SECONDS)


def test_a_stuck_thread_costs_only_its_own_work() -> None:
    executor = DaemonExecutor(2, "test")
    release = threading.Event()
    stuck = executor.submit(release.wait, WAIT_SECONDS)
    try:
        answers = [executor.submit(lambda n=n: n * 2).result(WAIT_SECONDS) for n in range(5)]
        assert answers == [0, 2, 4, 6, 8] and not stuck.done()
    finally:
        release.set()


def test_shutdown_returns_at_once_even_with_a_stuck_thread() -> None:
    executor = DaemonExecutor(1, "test")
    release = threading.Event()
    executor.submit(release.wait, WAIT_SECONDS)
    try:
        executor.shutdown(wait=True)
    finally:
        release.set()


def test_idle_threads_leave_and_new_work_starts_another(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workers, "IDLE_SECONDS", 0.01)
    executor = DaemonExecutor(1, "idle-test")
    executor.submit(lambda: None).result(WAIT_SECONDS)
    for thread in [t for t in threading.enumerate() if t.name.startswith("idle-test")]:
        thread.join(WAIT_SECONDS)

    assert not [t for t in threading.enumerate() if t.name.startswith("idle-test")]
    assert executor.submit(lambda: 42).result(WAIT_SECONDS) == 42
