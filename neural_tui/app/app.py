"""The console application: wires a snapshot feed to the screens and the keys to commands."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path, PurePath
from types import FrameType
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.screen import Screen

from neural_tui import keymap
from neural_tui.alerts.silencing import login_name
from neural_tui.alerts.view import AlertCommands, AlertsView
from neural_tui.app.commands import SLOCommands
from neural_tui.app.fleet_groups import Fleet
from neural_tui.app.messages import AlertsArrived, DrillView, SnapshotArrived
from neural_tui.app.view_export import export_view, view_data
from neural_tui.config import HealthSection
from neural_tui.runtime.feed import SnapshotFeed
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import plain
from neural_tui.screens.alerts import AlertsScreen
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.screens.help import HelpScreen, describe_bindings
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.screens.slo import SLOScreen

SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
"""What `signal.getsignal` returns."""
AlertsProvider = Callable[[], AlertsView]
"""The alerting's latest published view; called often, so it must only return a reference."""
ALERTS_POLL_SECONDS = 0.5
KEPT_DRILL_DOWNS = 6
"""Drill-down screens kept built after they close (the most recently opened), so that opening
one again only repaints it: building a screen (its widgets, their styles, its footer) is most
of what a key costs."""
"""How often the console looks for a newer alerts view (it redraws only when there is one)."""


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

    CSS_PATH: ClassVar[list[str | PurePath]] = [Path(__file__).with_name("app.tcss"),
                                                Path(__file__).with_name("alerts.tcss")]
    """Absolute, so that subclasses defined elsewhere (demo, tests) find it too."""
    TITLE = "neural-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id=keymap.QUIT),
        Binding("question_mark", "help", "Help", id=keymap.HELP),
        Binding("p", "toggle_pause", "Pause/resume", id=keymap.PAUSE),
        Binding("a", "open_alerts", "Alerts", id=keymap.ALERTS),
        Binding("e", "export", "Export view", id=keymap.EXPORT),
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
        alerts: AlertsProvider | None = None,
        alert_commands: AlertCommands | None = None,
        user: str | None = None,
        fleet: Fleet | None = None,
    ) -> None:
        """`keys` maps binding ids (`neural_tui.keymap`) to the keys that replace theirs.

        `source_label` names the local storage; `fleet` says whether it is read and which
        targets and Prometheus are (default: local storage only).

        `alerts` and `alert_commands` connect the alerting (none: the console shows no alert
        feed); `user` signs acknowledgements and silences (default: the login name).
        """
        super().__init__()
        self.set_keymap(keys or {})
        self.source_label = source_label
        self.fleet = fleet or Fleet()
        self.health = health or HealthSection()
        """The `[health]` limits, which panels mark as `neural-tui health` judges them."""
        self.engine_interval_seconds = engine_interval_seconds
        """How often the runtime runs the engines; screens say it while they wait for results."""
        self._feed = feed
        self._snapshot = feed.latest
        self._pause_requested = False
        self._handling_hangup = False
        self._hangup_handler_before: SignalHandler = None
        self._alerts = alerts
        self._alerts_view = alerts() if alerts is not None else AlertsView.empty()
        self.alert_commands = alert_commands
        self.user = user if user is not None else login_name()
        self._drill_downs: OrderedDict[tuple[str, DrillView], DrillDownScreen] = OrderedDict()
        self.export_dir = Path()
        """Where `e` writes the view's SVG and JSON: the working directory."""

    @property
    def snapshot(self) -> Snapshot:
        """The latest snapshot received, for screens that open between two publications."""
        return self._snapshot

    @property
    def alerting(self) -> bool:
        """Whether the alerting is connected (else no feed, and the alert keys say so)."""
        return self._alerts is not None

    @property
    def alerts_view(self) -> AlertsView:
        """The latest alerts view, for screens that open between two publications."""
        return self._alerts_view

    def get_default_screen(self) -> Screen[None]:
        return OverviewScreen()

    def on_mount(self) -> None:
        self._feed.subscribe(self._receive)
        self.run_worker(self._feed.run(), name="snapshot feed", exit_on_error=True)
        self._exit_on_hangup()
        if self._alerts is not None:
            self.set_interval(ALERTS_POLL_SECONDS, self.poll_alerts, name="alerts poll")

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

        A queued snapshot gives way to a newer one (`SnapshotArrived.can_replace`); one still
        queued while the app closes (no screen left) is dropped.
        """
        if self.screen_stack:
            self.screen.post_message(SnapshotArrived(message.snapshot))

    def poll_alerts(self) -> None:
        """Hand a newer alerts view, if the alerting published one, to the screen on top."""
        if self._alerts is None:
            return
        view = self._alerts()
        if view is not self._alerts_view:
            self._alerts_view = view
            self.post_message(AlertsArrived(view))

    def on_alerts_arrived(self, message: AlertsArrived) -> None:
        if self.screen_stack:
            self.screen.post_message(AlertsArrived(message.view))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without the alerting the alerts key is neither shown nor bound."""
        return self.alerting if action == "open_alerts" else True

    def action_open_alerts(self) -> None:
        if not isinstance(self.screen, AlertsScreen):
            self.push_screen(AlertsScreen())

    def run_alert_command(self, done: str, command: Callable[[AlertCommands], object]) -> None:
        """Ask the alerting for something in a thread, then say `done` or what went wrong.

        The alerting may write its state to disk before it answers; the console keeps drawing.
        """
        commands = self.alert_commands
        if commands is None:
            self.notify("Alerting is not running in this console.", severity="warning")
            return

        def ask() -> None:
            try:
                command(commands)
            except Exception as exc:  # any failure is reported, none is fatal
                self.call_from_thread(self.notify, plain(f"{done} failed: {exc}"),
                                      severity="error", markup=False)
                return
            self.call_from_thread(self.notify, plain(done), markup=False)
            self.call_from_thread(self.poll_alerts)

        self.run_worker(ask, name="alert command", group="alert commands", thread=True,
                        exit_on_error=False)

    def open_drill_down(self, uid: str, view: DrillView) -> None:
        """Show `view` of the model whose `ModelSnapshot.uid` is `uid`; over another
        drill-down it takes that one's place.

        So escape always leads back to the overview, however many views were visited.
        """
        screen = self._drill_down(uid, view)
        if screen is self.screen:
            return
        if isinstance(self.screen, DrillDownScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def _drill_down(self, uid: str, view: DrillView) -> DrillDownScreen:
        """The screen of `view` for `uid`: kept from an earlier visit (it catches up with the
        latest snapshot when resumed), else a new one, kept in place of the least recent."""
        key = (uid, view)
        screen = self._drill_downs.get(key)
        if screen is not None:
            self._drill_downs.move_to_end(key)
            return screen
        screen = DRILL_DOWNS[view](uid, engine_interval_seconds=self.engine_interval_seconds)
        self.install_screen(screen, f"drill-down {id(screen)}")
        self._drill_downs[key] = screen
        while len(self._drill_downs) > KEPT_DRILL_DOWNS:
            _, oldest = self._drill_downs.popitem(last=False)
            if oldest in self.screen_stack:
                self._drill_downs[(oldest.uid, self._view_of(oldest))] = oldest
                break
            self.uninstall_screen(oldest)
            if oldest.is_mounted:
                oldest.remove()
        return screen

    @staticmethod
    def _view_of(screen: DrillDownScreen) -> DrillView:
        return next(name for name, kind in DRILL_DOWNS.items() if isinstance(screen, kind))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(describe_bindings(self, self.screen.active_bindings)))

    def action_toggle_pause(self) -> None:
        """Ask the runtime to pause or resume; the status line shows what its snapshots say."""
        self._pause_requested = not self._pause_requested
        self._feed.set_paused(self._pause_requested)

    def action_export(self) -> None:
        """Write the current view as SVG and its data as JSON, in a thread; say where.

        The SVG is rendered here (it reads the screen), the files are written off the loop.
        """
        view, models = self._current_view()
        snapshot, now, directory = self._snapshot, time.time(), self.export_dir
        svg = self.export_screenshot(title=f"neural-tui {view}")

        def write() -> None:
            try:
                written = export_view(directory, view, svg,
                                      view_data(view, snapshot, models, now), now)
            except OSError as exc:
                self.call_from_thread(self.notify, plain(f"Export failed: {exc}"),
                                      severity="error", markup=False)
                return
            self.call_from_thread(self.notify, plain(f"Exported {written.svg} and "
                                                     f"{written.json.name}"), markup=False)

        self.run_worker(write, name="export", group="export", thread=True, exit_on_error=False)

    def _current_view(self) -> tuple[str, tuple[ModelSnapshot, ...]]:
        """The view's fixed name, and the models it renders, for an export.

        A modal screen (help, silence) is exported with what lies beneath it named.
        """
        screen = next((s for s in reversed(self.screen_stack)
                       if isinstance(s, DrillDownScreen | OverviewScreen | AlertsScreen)),
                      self.screen)
        if isinstance(screen, DrillDownScreen):
            view = self._view_of(screen)
            model = self._snapshot.model(screen.uid)
            return view, (model,) if model is not None else ()
        return ("alerts" if isinstance(screen, AlertsScreen) else "overview",
                self._snapshot.models)
