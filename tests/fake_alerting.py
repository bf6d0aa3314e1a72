"""A scripted stand-in for the alerting, as the console sees it: a view to read, and commands
that are recorded (and can be made slow or failing) instead of carried out."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from factories import FIXED_TIME

from neural_tui.alerts.view import AlertsView, Silence


@dataclass
class FakeAlerting:
    """`view` is what the console reads (`provide`); `calls` what it asked, in order.

    `gate`, when set, holds every command until it is opened, as a slow disk would; `fail`
    makes every command raise.
    """

    view: AlertsView = field(default_factory=AlertsView.empty)
    calls: list[tuple[object, ...]] = field(default_factory=list)
    gate: threading.Event | None = None
    fail: str | None = None
    unsilence_finds: bool = True

    def provide(self) -> AlertsView:
        return self.view

    def _wait(self) -> None:
        if self.gate is not None:
            self.gate.wait(timeout=30)
        if self.fail is not None:
            raise OSError(self.fail)

    def acknowledge(self, fingerprint: str, author: str) -> None:
        self._wait()
        self.calls.append(("acknowledge", fingerprint, author))

    def silence(self, matchers: Mapping[str, str], duration_seconds: float, comment: str,
                author: str) -> Silence:
        self._wait()
        self.calls.append(("silence", dict(matchers), duration_seconds, comment, author))
        return Silence(id="s-new", matchers=dict(matchers), starts_at=FIXED_TIME,
                       ends_at=FIXED_TIME + duration_seconds, comment=comment, author=author)

    def unsilence(self, silence_id: str) -> bool:
        self._wait()
        self.calls.append(("unsilence", silence_id))
        return self.unsilence_finds
