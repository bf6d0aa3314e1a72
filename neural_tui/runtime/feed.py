"""The face the runtime shows to its readers (console, exporter, alerts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from neural_tui.runtime.snapshot import Snapshot

SnapshotListener = Callable[[Snapshot], None]


class SnapshotFeed(Protocol):
    """A running pipeline seen from outside: the latest snapshot, pushes, and commands.

    `run()` drives the pipeline in the caller's event loop until cancelled; listeners are called
    in that loop after each publication and must return quickly.
    """

    @property
    def latest(self) -> Snapshot: ...

    async def run(self) -> None: ...

    def subscribe(self, listener: SnapshotListener) -> None: ...

    def unsubscribe(self, listener: SnapshotListener) -> None: ...

    def set_paused(self, paused: bool) -> None: ...
