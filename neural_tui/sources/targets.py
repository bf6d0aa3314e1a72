"""Remote `/metrics` endpoints polled as a source (interface; being built)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence

from neural_tui.remote_models import Endpoint, RemoteView


class TargetSource:
    """Polls every endpoint concurrently, each on its own interval and timeout."""

    def __init__(self, endpoints: Sequence[Endpoint], *, series_points: int = 60,
                 clock: Callable[[], float] = time.time) -> None:
        self.endpoints = tuple(endpoints)
        self.series_points = series_points
        self.clock = clock

    @property
    def label(self) -> str:
        return "targets"

    def views(self) -> AsyncIterator[RemoteView]:
        raise NotImplementedError

    async def fetch(self) -> tuple[RemoteView, ...]:
        raise NotImplementedError
