"""What every channel is: one attempt at a time, and an error that says whether to retry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import httpx

from neural_tui.alerts.notification import Notification


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

    def __init__(self, name: str, timeout_seconds: float, ca_file: Path | None = None) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self.ca_file = ca_file
        """Certificates an HTTPS receiver may be signed by, besides the system's."""

    @abstractmethod
    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        """One attempt; raises `ChannelError` unless the receiver acknowledged it."""

    async def refresh(self, client: httpx.AsyncClient) -> None:
        """Re-send live state; only channels with a `refresh_interval` override it."""
        return
