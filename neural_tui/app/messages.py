"""Messages the console passes between its parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.message import Message

from neural_tui.alerts.view import AlertsView
from neural_tui.runtime.snapshot import Snapshot


@dataclass
class AlertsArrived(Message, bubble=False):
    """The alerting published a new `view`; the overview's feed and the alerts screen redraw.

    Like a snapshot, a newer view queued behind this one takes its place.
    """

    view: AlertsView

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, AlertsArrived)


@dataclass
class SnapshotArrived(Message, bubble=False):
    """The runtime published `snapshot`; screens that show live data re-render from it.

    It does not bubble: the app forwards it to a screen, which must not send it back up.
    """

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        """A newer snapshot queued behind this one takes its place (Textual's coalescing).

        Snapshots are posted in publication order, so a busy console renders the present
        instead of working through a backlog.
        """
        return isinstance(message, SnapshotArrived)


DrillView = Literal["drift", "quality", "slo", "latency"]
"""The closer looks at one model that the console offers."""
