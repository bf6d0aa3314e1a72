"""The console application: wires a snapshot feed to the screens and the keys to commands."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen

from neural_tui import keymap
from neural_tui.app.commands import SLOCommands
from neural_tui.app.messages import DrillView, SnapshotArrived
from neural_tui.app.screens.drift import DriftScreen
from neural_tui.app.screens.drill_down import DrillDownScreen
from neural_tui.app.screens.help import HelpScreen, describe_bindings
from neural_tui.app.screens.overview import OverviewScreen
from neural_tui.app.screens.quality import QualityScreen
from neural_tui.app.screens.slo import SLOScreen
from neural_tui.config import HealthSection
from neural_tui.runtime.feed import SnapshotFeed
from neural_tui.runtime.snapshot import Snapshot

SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
"""What `signal.getsignal` returns."""


DRILL_DOWNS: dict[DrillView, type[DrillDownScreen]] = {
    "drift": DriftScreen,
    "quality": QualityScreen,
    "slo": SLOScreen,
}


class NeuralTuiApp(App[None]):
    """Renders the snapshots a `SnapshotFeed` publishes and sends it the user's commands.

    The feed runs as a worker in the app's own event loop; its listener only records the
    snapshot and posts a message, so publication never waits on rendering.
    """

    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so that subclasses defined elsewhere (demo, tests) find it too."""
    TITLE = "neural-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id=keymap.QUIT),
        Binding("question_mark", "help", "Help", id=keymap.HELP),
        Binding("p", "toggle_pause", "Pause/resume", id=keymap.PAUSE),
    ]
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = (
        App.COMMANDS | {SLOCommands}
    )
    """Textual's own commands (theme, keys, quit) and ours, in the palette (ctrl+p)."""

    def __init__(
        self,
        feed: SnapshotFeed,
        *,
        source_label: str = "",
        engine_interval_seconds: float = 10.0,
        health: HealthSection | None = None,
        keys: Mapping[str, str] | None = None,
    ) -> None:
        """`keys` maps binding ids (`neural_tui.keymap`) to the keys that replace theirs."""
        super().__init__()
        self.set_keymap(keys or {})
        self.source_label = source_label
        self.health = health or HealthSection()
        """The `[health]` limits, which panels mark as `neural-tui health` judges them."""
        self.engine_interval_seconds = engine_interval_seconds
        """How often the runtime runs the engines; screens say it while they wait for results."""
        self._feed = feed
        self._snapshot = feed.latest
        self._pause_requested = False
        self._handling_hangup = False
        self._hangup_handler_before: SignalHandler = None

    @property
    def snapshot(self) -> Snapshot:
        """The latest snapshot received, for screens that open between two publications."""
        return self._snapshot

    def get_default_screen(self) -> Screen[None]:
        return OverviewScreen()

    def on_mount(self) -> None:
        self._feed.subscribe(self._receive)
        self.run_worker(self._feed.run(), name="snapshot feed", exit_on_error=True)
        self._exit_on_hangup()

    def on_unmount(self) -> None:
        self._feed.unsubscribe(self._receive)
        self._restore_hangup_handler()

    def _exit_on_hangup(self) -> None:
        """Leave cleanly when the terminal goes away (an SSH link drops): Textual does not."""
        self._hangup_handler_before = signal.getsignal(signal.SIGHUP)
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
            self._handling_hangup = True

    def _restore_hangup_handler(self) -> None:
        """Give SIGHUP back to whoever had it (asyncio alone would reset it to the default)."""
        if not self._handling_hangup:
            return
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._hangup_handler_before is not None:
            signal.signal(signal.SIGHUP, self._hangup_handler_before)
        self._handling_hangup = False

    def _receive(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self.post_message(SnapshotArrived(snapshot))

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        """Hand the snapshot to the screen on top; others catch up when resumed.

        A queued snapshot gives way to a newer one (`SnapshotArrived.can_replace`).
        """
        self.screen.post_message(SnapshotArrived(message.snapshot))

    def open_drill_down(self, model_name: str, view: DrillView) -> None:
        """Show `view` of a model; over another drill-down it takes that one's place.

        So escape always leads back to the overview, however many views were visited.
        """
        screen = DRILL_DOWNS[view](model_name, engine_interval_seconds=self.engine_interval_seconds)
        if isinstance(self.screen, DrillDownScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(describe_bindings(self, self.screen.active_bindings)))

    def action_toggle_pause(self) -> None:
        """Ask the runtime to pause or resume; the status line shows what its snapshots say."""
        self._pause_requested = not self._pause_requested
        self._feed.set_paused(self._pause_requested)
