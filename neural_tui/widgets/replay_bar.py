"""The line that says a console replays stored history: its speed, the record time it reached,
and whether it stands (paused) or played the whole range (finished)."""

from __future__ import annotations

import time
from typing import Protocol

from textual.widgets import Static

REFRESH_SECONDS = 0.25
"""How often the bar reads the replay clock (it moves between snapshots too)."""
FINISHED = "replay finished"


class ReplayControls(Protocol):
    """The replay clock as the console drives it (`neural_tui.runtime.replay_clock`): called,
    the record time reached."""

    def __call__(self) -> float: ...

    @property
    def speed(self) -> float: ...

    @property
    def paused(self) -> bool: ...

    @property
    def finished(self) -> bool: ...

    def set_paused(self, paused: bool) -> None: ...

    def step(self) -> None: ...

    def faster(self) -> None: ...

    def slower(self) -> None: ...


def replay_status(replay: ReplayControls) -> str:
    """`REPLAY 60x · 2026-11-30 14:03:10 UTC · paused` (or `· replay finished`)."""
    moment = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(replay()))
    state = FINISHED if replay.finished else "paused" if replay.paused else "playing"
    return f"REPLAY {replay.speed:g}x · {moment} · {state}"


class ReplayBar(Static):
    """Shown only in a replay: its status, redrawn on a short timer."""

    def __init__(self, replay: ReplayControls | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._replay = replay

    def on_mount(self) -> None:
        self.display = self._replay is not None
        if self._replay is not None:
            self.refresh_status()
            self.set_interval(REFRESH_SECONDS, self.refresh_status, name="replay status")

    def refresh_status(self) -> None:
        if self._replay is not None:
            self.update(replay_status(self._replay))
