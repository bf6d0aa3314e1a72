"""The face the runtime shows to its readers (console, exporter, alerts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from neural_tui.runtime.snapshot import Snapshot

SnapshotListener = Callable[[Snapshot], None]

TIME_RANGES_SECONDS: tuple[int, ...] = (300, 3600, 86_400)
"""The ranges the console cycles through (5m, 1h, 24h)."""


class Snapshots(Protocol):
    """Published snapshots: the latest, and pushes (what the alerting reads)."""

    @property
    def latest(self) -> Snapshot: ...

    def subscribe(self, listener: SnapshotListener) -> None: ...

    def unsubscribe(self, listener: SnapshotListener) -> None: ...


class SnapshotFeed(Snapshots, Protocol):
    """A running pipeline seen from outside: the latest snapshot, pushes, and commands.

    `run()` drives the pipeline in the caller's event loop until cancelled; listeners are called
    in that loop after each publication and must return quickly. `set_time_range` sets the
    range the published snapshots' figures and series cover (`Snapshot.time_range_seconds`).
    """

    async def run(self) -> None: ...

    def set_paused(self, paused: bool) -> None: ...

    def set_time_range(self, seconds: float) -> None: ...
