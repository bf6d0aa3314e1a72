"""The replay clock: record time running from a start at a multiple of the wall clock.

Record time = the anchor + (wall seconds since the anchor was set x speed). Pausing, stepping
and changing the speed set a new anchor, so record time never jumps back; it stops at the end
of the range, if there is one. The runtime, the replay source and the console's replay bar all
read this one clock, so the windows, the SLOs and the snapshots' times follow it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

MIN_SPEED = 0.1
MAX_SPEED = 100_000.0
DEFAULT_SPEED = 60.0
SPEED_FACTOR = 2.0
"""What `faster` multiplies the speed by and `slower` divides it by."""


class ReplayClock:
    """Callable like `time.time`: the record time the replay has reached (see the module)."""

    def __init__(self, start: float, *, speed: float = DEFAULT_SPEED, end: float | None = None,
                 cadence_seconds: float = 1.0,
                 wall: Callable[[], float] = time.monotonic) -> None:
        if not MIN_SPEED <= speed <= MAX_SPEED:
            raise ValueError(f"speed {speed!r} is outside {MIN_SPEED:g}..{MAX_SPEED:g}")
        self._wall = wall
        self._anchor = start
        self._anchored_at = wall()
        self._speed = speed
        self.end = end
        self.cadence_seconds = cadence_seconds
        """What one step advances, in wall seconds of the replay (record time: x speed)."""
        self._paused = False
        self._finished = False

    def __call__(self) -> float:
        if self._paused:
            now = self._anchor
        else:
            now = self._anchor + (self._wall() - self._anchored_at) * self._speed
        return now if self.end is None else min(now, self.end)

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def finished(self) -> bool:
        """Whether the source played the last record of the range (the clock then stands)."""
        return self._finished

    def set_paused(self, paused: bool) -> None:
        """Stop or restart record time; once finished it stays stopped."""
        self._reanchor()
        self._paused = paused or self._finished

    def step(self) -> None:
        """Advance record time by one cadence at the current speed (meant for while paused)."""
        self._reanchor()
        self._anchor += self.cadence_seconds * self._speed
        if self.end is not None:
            self._anchor = min(self._anchor, self.end)

    def set_speed(self, speed: float) -> None:
        """Run at `speed` from now on, kept within `MIN_SPEED`..`MAX_SPEED`."""
        if not math.isfinite(speed):
            return
        self._reanchor()
        self._speed = min(MAX_SPEED, max(MIN_SPEED, speed))

    def faster(self) -> None:
        self.set_speed(self._speed * SPEED_FACTOR)

    def slower(self) -> None:
        self.set_speed(self._speed / SPEED_FACTOR)

    def finish(self) -> None:
        """The range is played: record time stands where it is."""
        self.set_paused(True)
        self._finished = True

    def _reanchor(self) -> None:
        self._anchor = self()
        self._anchored_at = self._wall()
