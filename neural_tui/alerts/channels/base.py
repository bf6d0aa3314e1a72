"""What every channel is: one attempt at a time, and an error that says whether to retry."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any, TypeVar

import httpx

from neural_tui.alerts.notification import Notification
from neural_tui.sources.workers import DaemonExecutor

_T = TypeVar("_T")


class ChannelError(Exception):
    """One failed attempt. `retry_after` is the wait in seconds the receiver asked for (HTTP
    429 or 503 with `Retry-After`), None when it asked for none."""

    def __init__(self, detail: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(ABC):
    """One configured receiver. `send` makes one attempt and returns once it is acknowledged.

    `refresh_interval` is set by a channel whose receiver expects live state re-sent (the
    Alertmanager API expires an alert it does not hear about again); the delivery calls
    `refresh` that often while the channel's queue is idle.
    """

    refresh_interval: float | None = None
    attempt_grace: float = 0.0
    """Added to `timeout_seconds` for the delivery's own limit on an attempt, by a channel that
    works in a thread (which cannot be cancelled) and keeps its own deadline: its thread then
    always reports how the attempt ended (sent, or not) before the delivery stops waiting, so a
    slow acknowledgement is never taken for a failure and sent again."""

    def __init__(self, name: str, timeout_seconds: float, ca_file: Path | None = None) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.ca_file = ca_file
        """Certificates an HTTPS receiver may be signed by, besides the system's."""
        self.executor: Executor = DaemonExecutor(1, f"alerts-{name}")
        """Where `in_thread` runs blocking work: never asyncio's default executor, which the
        analysis shares, so a receiver that hangs a thread stalls nothing but this channel."""
        self._thread: Future[Any] | None = None

    async def in_thread(self, call: Callable[..., _T], *args: Any) -> _T:
        """`call(*args)` in the channel's thread. A thread cannot be cancelled: while the one
        of an attempt that timed out still runs, a new attempt fails at once (and is retried
        later) rather than pile another thread behind it."""
        if self._thread is not None and not self._thread.done():
            raise ChannelError("the previous attempt has not ended yet", retryable=True)
        self._thread = self.executor.submit(call, *args)
        return await asyncio.wrap_future(self._thread)

    @abstractmethod
    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        """One attempt; raises `ChannelError` unless the receiver acknowledged it."""

    async def refresh(self, client: httpx.AsyncClient) -> None:
        """Re-send live state; only channels with a `refresh_interval` override it."""
        return
