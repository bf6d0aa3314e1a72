"""The overview's progress bar while the history on disk at start is read: how much, how
many records, how fast and how long still, so that a large storage shows its life."""

from __future__ import annotations

from textual.widgets import Label

from neural_tui.runtime.snapshot import Snapshot

CATCHING_UP_CLASS = "-catching-up"
BAR_CELLS = 20
"""Width of the bar itself: the text beside it fits an 80-column terminal."""
LISTING = "History: listing the storage"


class HistoryProgressBar(Label):
    """One line, drawn in ASCII, shown only while `Snapshot.catching_up` (hidden in .tcss
    otherwise)."""

    def show(self, snapshot: Snapshot) -> None:
        history = snapshot.history
        self.set_class(snapshot.catching_up, CATCHING_UP_CLASS)
        if not snapshot.catching_up:
            return
        self.update(LISTING if history is None else
                    f"History {history.bar(BAR_CELLS)} {history.describe()}")
