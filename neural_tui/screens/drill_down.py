"""What every closer look at one model shares: its keys, and rendering only while on top.

A remote model has no records, so its screens show what its exporter publishes instead of the
engines' reports, and say so (`REMOTE_CLASS`, `remote_origin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Label

from neural_tui import keymap
from neural_tui.app.messages import DrillView, SnapshotArrived
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import safe_text
from neural_tui.widgets.replay_bar import ReplayBar

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

REMOTE_CLASS = "-remote"
"""A drill-down of a remote model has this class: its screen shows the exported figures."""


class DrillDownScreen(Screen[None]):
    """One model (by `ModelSnapshot.uid`), looked at closely; subclasses render a
    `ModelSnapshot` in `show_model`.

    The app hands snapshots only to the screen on top, so a covered screen does no work; it
    catches up from the latest snapshot when it is shown again.
    """

    VIEW: ClassVar[DrillView]
    VIEW_TITLE: ClassVar[str]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id=keymap.BACK),
        Binding("d", "open('drift')", "Drift", id=keymap.DRIFT),
        Binding("Q", "open('quality')", "Quality", id=keymap.QUALITY),
        Binding("s", "open('slo')", "SLOs", id=keymap.SLO),
    ]

    def __init__(self, uid: str, *, engine_interval_seconds: float = 10.0) -> None:
        super().__init__()
        self.uid = uid
        self.engine_interval_seconds = engine_interval_seconds
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
        """From 120 columns the screen gets `-wide`, and the detail sits beside the table."""

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def on_mount(self) -> None:
        """In a replay, the replay bar tops every closer look too."""
        replay = self.console_app.replay
        if replay is not None:
            self.mount(ReplayBar(replay, id="replay-bar"), before=0)

    def on_screen_resume(self) -> None:
        self.show(self.console_app.snapshot)

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.show(message.snapshot)

    def show(self, snapshot: Snapshot) -> None:
        model = snapshot.model(self.uid)
        with self.app.batch_update():
            self.set_class(model is not None and model.remote is not None, REMOTE_CLASS)
            self.query_one("#drill-title", Label).update(self._title(model))
            self.show_model(model)

    def show_model(self, model: ModelSnapshot | None) -> None:
        """Render `model`, or say that the model is no longer reported (None)."""
        raise NotImplementedError

    def _title(self, model: ModelSnapshot | None) -> Text:
        name = safe_text(self.uid)
        if model is None:
            return Text.assemble(name, " · no longer reported")
        return Text.assemble(name, " · ", safe_text(model.version), f" · {self.VIEW_TITLE}")

    def waiting_text(self, model: ModelSnapshot | None) -> str:
        """Why there is nothing to show yet: the model is gone, or its engines have not run."""
        if model is None:
            return "This model is not in the latest snapshot."
        if model.analysis_waiting:
            return (f"No {self.VIEW} report yet: {model.analysis_waiting}. The reference is the "
                    "model's reference file, else its first [drift] reference_rows records.")
        seconds = f"{self.engine_interval_seconds:g}"
        return f"Waiting for the first {self.VIEW} run (engines run every {seconds} s)"

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_open(self, view: DrillView) -> None:
        if view != self.VIEW:
            self.console_app.open_drill_down(self.uid, view)


def remote_source(model: ModelSnapshot) -> Text:
    """`target host-1`, with the instance when it says more than the source's label."""
    source = safe_text(model.source)
    if model.instance and model.instance not in model.source:
        source.append_text(Text.assemble(" (instance ", safe_text(model.instance), ")"))
    return source


def remote_origin(model: ModelSnapshot) -> Text:
    """`as exported by target host-1`."""
    return Text.assemble("as exported by ", remote_source(model))
