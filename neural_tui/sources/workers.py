"""A small pool of daemon threads for the file-system calls of a source.

asyncio's default executor (and `concurrent.futures.ThreadPoolExecutor`) joins its threads when
the loop closes and again when the interpreter exits, so one thread stuck in a syscall (a FIFO
opened for reading, a hung network mount) keeps the process alive after SIGTERM. These threads
are daemons and nothing ever waits for them: a stuck one costs its own work only, and the
process still ends. Idle threads leave after `IDLE_SECONDS`, so a source that is dropped leaves
no thread behind.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from functools import partial
from typing import Any, ParamSpec, TypeVar

IDLE_SECONDS = 10.0
"""How long a thread waits for work before it leaves."""

_P = ParamSpec("_P")
_T = TypeVar("_T")
_Work = tuple[Future[Any], Callable[[], Any]]


class DaemonExecutor(Executor):
    """Up to `max_workers` daemon threads, started on demand; `shutdown` never waits."""

    def __init__(self, max_workers: int, name: str) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, not {max_workers}")
        self._max_workers = max_workers
        self._name = name
        self._work: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        """One token per thread waiting for work."""
        self._lock = threading.Lock()
        self._threads = 0

    def submit(  # type: ignore[override]
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> Future[_T]:
        future: Future[_T] = Future()
        self._work.put((future, partial(fn, *args, **kwargs)))
        if not self._idle.acquire(blocking=False):
            self._start_thread()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to do: idle threads leave by themselves, stuck ones are never waited for."""

    def _start_thread(self) -> None:
        with self._lock:
            if self._threads >= self._max_workers:
                return
            self._threads += 1
            number = self._threads
        threading.Thread(target=self._serve, name=f"{self._name}-{number}", daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                future, call = self._work.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                if self._idle.acquire(blocking=False):
                    with self._lock:
                        self._threads -= 1
                    return
                continue  # a submit took this thread's token: its work is on the way
            if future.set_running_or_notify_cancel():
                try:
                    result = call()
                except BaseException as exc:  # handed to whoever awaits the future
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, call
            self._idle.release()
