"""A scripted stand-in for the runtime (snapshots to feed it come from `factories`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace

from factories import FIXED_TIME

from neural_tui.runtime.feed import SnapshotListener
from neural_tui.runtime.snapshot import Snapshot


class FakeFeed:
    """A `SnapshotFeed` whose `run()` publishes `script` in order, then waits to be cancelled.

    Tests can also `publish()` snapshots themselves; `paused_calls`, `time_range_calls`,
    `listeners`, `running` and `cancelled` record what the console did to it. Like the runtime,
    `set_paused` republishes the latest snapshot with its `paused` flag set, and
    `set_time_range` (unless paused) with its `time_range_seconds`.
    """

    def __init__(self, initial: Snapshot | None = None, script: Iterable[Snapshot] = ()) -> None:
        self._latest = initial if initial is not None else Snapshot.empty(FIXED_TIME)
        self._script = list(script)
        self.listeners: list[SnapshotListener] = []
        self.paused_calls: list[bool] = []
        self.time_range_calls: list[float] = []
        self.running = False
        self.cancelled = False

    @property
    def latest(self) -> Snapshot:
        return self._latest

    async def run(self) -> None:
        self.running = True
        try:
            for snapshot in self._script:
                self.publish(snapshot)
                await asyncio.sleep(0)
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.running = False

    def subscribe(self, listener: SnapshotListener) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: SnapshotListener) -> None:
        self.listeners.remove(listener)

    def set_paused(self, paused: bool) -> None:
        self.paused_calls.append(paused)
        self.publish(replace(self._latest, paused=paused))

    def set_time_range(self, seconds: float) -> None:
        self.time_range_calls.append(seconds)
        if not self._latest.paused:
            self.publish(replace(self._latest, time_range_seconds=seconds))

    def publish(self, snapshot: Snapshot) -> None:
        self._latest = snapshot
        for listener in list(self.listeners):
            listener(snapshot)
