"""The fleet read from a Prometheus server's HTTP API (interface; being built)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable

from neural_tui.remote_models import Endpoint, RemoteView


class PrometheusSource:
    """Instant and range queries over the exported metric names, every interval."""

    def __init__(self, endpoint: Endpoint, *, rate_window_seconds: float = 60.0,
                 series_seconds: int = 300, clock: Callable[[], float] = time.time) -> None:
        self.endpoint = endpoint
        self.rate_window_seconds = rate_window_seconds
        self.series_seconds = series_seconds
        self.clock = clock

    @property
    def label(self) -> str:
        return "prometheus"

    def views(self) -> AsyncIterator[RemoteView]:
        raise NotImplementedError

    async def fetch(self) -> tuple[RemoteView, ...]:
        raise NotImplementedError
