"""The console application: wires a snapshot feed to the screens and the keys to commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import FrameType
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.filter import LineFilter, Monochrome, NoColor
from textual.screen import Screen
from textual.timer import Timer

from neural_tui import keymap
from neural_tui.alerts.silencing import login_name
from neural_tui.alerts.view import AlertCommands, AlertsView
from neural_tui.app.commands import (
    AlertJumps,
    FeatureCommands,
    ModelCommands,
    SLOCommands,
)
from neural_tui.app.fleet_groups import Fleet
from neural_tui.app.formatting import time_range_notice
from neural_tui.app.messages import AlertsArrived, DrillView, SnapshotArrived
from neural_tui.app.terminal_look import line_filters
from neural_tui.app.view_export import export_view, view_data
from neural_tui.config import ConsoleSection, HealthSection
from neural_tui.runtime.feed import TIME_RANGES_SECONDS, SnapshotFeed
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import plain
from neural_tui.screens.alerts import AlertsScreen
from neural_tui.screens.drift import DriftScreen
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.screens.help import HelpScreen, describe_bindings
from neural_tui.screens.latency import LatencyScreen
from neural_tui.screens.overview import OverviewScreen
from neural_tui.screens.quality import QualityScreen
from neural_tui.screens.slo import SLOScreen
from neural_tui.widgets.model_panel import ModelPanel
from neural_tui.widgets.replay_bar import ReplayControls

SignalHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None
"""What `signal.getsignal` returns."""
AlertsProvider = Callable[[], AlertsView]
"""The alerting's latest published view; called often, so it must only return a reference."""
THEMES = {"dark": "textual-dark", "light": "textual-light"}
"""`[console] theme` to the Textual theme that draws it (the styles use its variables only)."""
READONLY_CLASS = "-readonly"
"""The app has this class in a read-only console; screens mark themselves READ-ONLY."""
ALERTS_POLL_SECONDS = 0.5
"""How often the console looks for a newer alerts view (it redraws only when there is one)."""
SWITCH_INTERVAL_SECONDS = 0.001
"""How long a thread may hold the GIL while another waits, for as long as the console runs:
the source's reader threads decode in long C calls, and at Python's default (5 ms) a key
waits behind them; at 1 ms `d` answers in a median of 35 ms (p90 47 ms) while 200,000
records a second are read, against 39 ms (p90 165 ms) at the default
(`bench/bench_console_keys.py`)."""
KEPT_DRILL_DOWNS = 6
"""Drill-down screens kept built after they close (the most recently opened), so that opening
one again only repaints it: building a screen (its widgets, their styles, its footer) is most
of what a key costs."""
INPUT_CHECK_SECONDS = 0.5
"""How often the console checks that its input is still there (a terminal, a browser tab)."""
INPUT_GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL
LOST_TERMINAL_GRACE_SECONDS = 2.0
"""How long a console whose terminal is gone may take to shut down before it is ended."""
EXIT_LOST_TERMINAL = 128 + signal.SIGHUP


DRILL_DOWNS: dict[DrillView, type[DrillDownScreen]] = {
    "drift": DriftScreen,
    "quality": QualityScreen,
    "slo": SLOScreen,
    "latency": LatencyScreen,
}


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """What the console exits with when the user asks to replay an idle model's storage:
    `console.open_console` then replays it from `start` (unix seconds of record time)."""

    start: float
    model: str


REPLAY_LEAD_SECONDS = 3600.0
"""How far before an idle model's newest record the replay it offers starts."""


class NeuralTuiApp(App[ReplayRequest | None]):
    """Renders the snapshots a `SnapshotFeed` publishes and sends it the user's commands.

    The feed runs as a worker in the app's own event loop; its listener only records the
    snapshot and posts a message, so publication never waits on rendering.
    """

    CSS_PATH: ClassVar[list[str | PurePath]] = [Path(__file__).with_name("app.tcss"),
                                                Path(__file__).with_name("alerts.tcss"),
                                                Path(__file__).with_name("latency.tcss")]
    """Absolute, so that subclasses defined elsewhere (demo, tests) find it too."""
    TITLE = "neural-tui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id=keymap.QUIT),
        Binding("question_mark", "help", "Help", id=keymap.HELP),
        Binding("p", "toggle_pause", "Pause", id=keymap.PAUSE,
                tooltip="Pause/resume the display (ingest goes on)"),
        Binding("t", "cycle_time_range", "Range", id=keymap.TIME_RANGE,
                tooltip="Time range: 5m, 1h, 24h"),
        Binding("a", "open_alerts", "Alerts", id=keymap.ALERTS),
        Binding("n", "replay_step", "Step", id=keymap.REPLAY_STEP,
                tooltip="Replay: step one cadence"),
        Binding("plus", "replay_faster", "Faster", id=keymap.REPLAY_FASTER,
                tooltip="Replay twice as fast"),
        Binding("minus", "replay_slower", "Slower", id=keymap.REPLAY_SLOWER,
                tooltip="Replay half as fast"),
        Binding("e", "export", "Export", id=keymap.EXPORT,
                tooltip="Export the view (SVG and JSON)"),
    ]
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = (
        App.COMMANDS | {ModelCommands, FeatureCommands, SLOCommands, AlertJumps}
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
        refresh_seconds: float = 0.0,
        look: ConsoleSection | None = None,
        replay: ReplayControls | None = None,
        offers_replay: bool = False,
        greeting: str | None = None,
    ) -> None:
        """`keys` maps binding ids (`neural_tui.keymap`) to the keys that replace theirs.

        `source_label` names the local storage; `fleet` says whether it is read and which
        targets and Prometheus are (default: local storage only).

        `refresh_seconds` is the most often the screen on top is handed a snapshot (`[console]
        refresh_seconds`); the newest published in between is the one shown. 0: each one.

        `alerts` and `alert_commands` connect the alerting (none: the console shows no alert
        feed); `user` signs acknowledgements and silences (default: the login name).

        `look` is how to draw (`[console]`: theme, colours, ASCII) and whether the console
        may change the alerting (`readonly`: no acknowledgement or silence).
        """
        super().__init__()
        self.no_color = bool(os.environ.get("NO_COLOR"))
        """Only a non-empty NO_COLOR counts (no-color.org); Textual counts an empty one too."""
        self.look = look or ConsoleSection()
        self.theme = THEMES[self.look.theme]
        self._look_filters = line_filters("none" if self.no_color else self.look.color,
                                          ascii_only=self.look.ascii)
        """NO_COLOR (which Textual reads into `no_color`) draws as `--color none`: Textual
        alone would draw it in greys."""
        self.set_class(self.look.readonly, READONLY_CLASS)
        self.set_keymap(keys or {})
        self.source_label = source_label
        self.fleet = fleet or Fleet()
        self.health = health or HealthSection()
        """The `[health]` limits, which panels mark as `neural-tui health` judges them."""
        self.engine_interval_seconds = engine_interval_seconds
        """How often the runtime runs the engines; screens say it while they wait for results."""
        self._feed = feed
        self._snapshot = feed.latest
        self.refresh_seconds = refresh_seconds
        self._last_shown_at = float("-inf")
        self._show_later: Timer | None = None
        self._pause_requested = False
        self._time_range_requested: float | None = None
        """The range last asked of the feed; None: the feed's own (the configured window)."""
        self._handling_hangup = False
        self._hangup_handler_before: SignalHandler = None
        self._alerts = alerts
        self._alerts_view = alerts() if alerts is not None else AlertsView.empty()
        self.alert_commands = alert_commands
        self.user = user if user is not None else login_name()
        self._drill_downs: OrderedDict[tuple[str, DrillView], DrillDownScreen] = OrderedDict()
        self.export_dir = Path()
        """Where `e` writes the view's SVG and JSON: the working directory."""
        self.replay = replay
        self.offers_replay = offers_replay and replay is None
        self._greeting = greeting
        self._switch_interval_before = sys.getswitchinterval()
        """Python's GIL switch interval before the console set its own (restored on exit)."""

    @property
    def readonly(self) -> bool:
        """Whether this console may only look (`--readonly`): no acknowledgement or silence."""
        return self.look.readonly

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters (NO_COLOR among them), then `--color` and `--ascii`."""
        textuals = [line_filter for line_filter in super().get_line_filters()
                    if self.no_color or not isinstance(line_filter, NoColor | Monochrome)]
        return [*textuals, *self._look_filters]

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
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        self._feed.subscribe(self._receive)
        self.run_worker(self._feed.run(), name="snapshot feed", exit_on_error=True)
        self._exit_on_hangup()
        self._exit_when_input_ends()
        if self._alerts is not None:
            self.set_interval(ALERTS_POLL_SECONDS, self.poll_alerts, name="alerts poll")
        if self._greeting:
            self.notify(plain(self._greeting), markup=False, timeout=10)

    def on_unmount(self) -> None:
        sys.setswitchinterval(self._switch_interval_before)
        self._feed.unsubscribe(self._receive)
        self._restore_hangup_handler()

    def _exit_on_hangup(self) -> None:
        """Leave cleanly when the terminal goes away (an SSH link drops): Textual does not."""
        self._hangup_handler_before = signal.getsignal(signal.SIGHUP)
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.leave_lost_terminal)
            self._handling_hangup = True

    def _exit_when_input_ends(self) -> None:
        """Leave when the terminal closes without a SIGHUP (the process was in another session,
        or SIGHUP is ignored) or a browser tab's server goes away: Textual's input thread then
        reads end-of-file forever, or dies, and the console would run on, unseen."""
        if self.is_headless:
            return
        try:
            descriptor = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
        except (OSError, ValueError):
            return
        if descriptor < 0:
            return
        watch = select.poll()
        watch.register(descriptor, select.POLLIN)

        def check() -> None:
            if any(events & INPUT_GONE for _, events in watch.poll(0)):
                self.leave_lost_terminal()

        self.set_interval(INPUT_CHECK_SECONDS, check, name="input check")

    def leave_lost_terminal(self) -> None:
        """Exit, knowing nobody sees the screen any more: output goes to /dev/null, and the
        process ends after a grace period if the shutdown has not finished by then.

        Textual's shutdown writes to the terminal it restores; with the terminal gone that
        write can block for ever (its writer queue full), leaving an orphaned console behind.
        """
        if not self.is_headless:
            discard = os.open(os.devnull, os.O_WRONLY)
            for stream in (sys.__stdout__, sys.__stderr__):
                with contextlib.suppress(AttributeError, OSError, ValueError):
                    os.dup2(discard, stream.fileno())  # type: ignore[union-attr]
            os.close(discard)
            deadline = threading.Timer(LOST_TERMINAL_GRACE_SECONDS, os._exit,
                                       args=(EXIT_LOST_TERMINAL,))
            deadline.daemon = True
            deadline.start()
        self.exit()

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
        """Hand the newest snapshot to the screen on top, at most once per `refresh_seconds`:
        at once when the last was handed longer ago, else when that time is up (snapshots
        arriving meanwhile give way to the newest). Other screens catch up when resumed.

        A queued snapshot gives way to a newer one (`SnapshotArrived.can_replace`); one that
        arrives while the app shuts down, after its screens are gone, is dropped.
        """
        if self._show_later is not None:
            return
        wait = self._last_shown_at + self.refresh_seconds - time.monotonic()
        if wait > 0:
            self._show_later = self.set_timer(wait, self._show_newest, name="refresh")
        else:
            self._show_newest()

    def _show_newest(self) -> None:
        self._show_later = None
        self._last_shown_at = time.monotonic()
        if self.screen_stack:
            self.screen.post_message(SnapshotArrived(self._snapshot))

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
        """Without the alerting (or on the alerts screen) the alerts key is neither shown nor
        bound, nor are the replay keys outside a replay."""
        if action == "open_alerts":
            return self.alerting and not isinstance(self.screen, AlertsScreen)
        if action.startswith("replay_"):
            return self.replay is not None
        return True

    def action_replay_step(self) -> None:
        if self.replay is not None:
            self.replay.step()

    def action_replay_faster(self) -> None:
        if self.replay is not None:
            self.replay.faster()

    def action_replay_slower(self) -> None:
        if self.replay is not None:
            self.replay.slower()

    def on_model_panel_replay_asked(self, message: ModelPanel.ReplayAsked) -> None:
        """Leave, so that `console.open_console` starts the replay of this storage from an
        hour before the model's newest record."""
        if self.offers_replay:
            self.exit(ReplayRequest(message.newest_record_at - REPLAY_LEAD_SECONDS,
                                    message.model))

    def action_open_alerts(self) -> None:
        self.open_alerts()

    def open_alerts(self, select: str | None = None) -> None:
        """Show the alerts screen, with the alert whose row key is `select` selected."""
        if isinstance(self.screen, AlertsScreen):
            if select is not None:
                self.screen.select(select)
            return
        self.push_screen(AlertsScreen(select=select))

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

    @property
    def drill_views(self) -> tuple[DrillView, ...]:
        """The closer looks the console offers, for the palette."""
        return tuple(DRILL_DOWNS)

    def open_drill_down(self, uid: str, view: DrillView, select: str | None = None) -> None:
        """Show `view` of the model whose `ModelSnapshot.uid` is `uid`, with the row keyed
        `select` (a feature, an SLO) selected; over another drill-down it takes that one's place.

        So escape always leads back to the overview, however many views were visited.
        """
        screen = self._drill_down(uid, view)
        if select is not None:
            screen.select_row(select)
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

    def _answer_at_once(self) -> None:
        """Let the snapshot answering a key (pause, time range) show as it arrives, whatever
        the refresh interval: a redraw already waiting for its turn is dropped, the answer
        being newer."""
        if self._show_later is not None:
            self._show_later.stop()
            self._show_later = None
        self._last_shown_at = float("-inf")

    def action_help(self) -> None:
        self.push_screen(HelpScreen(describe_bindings(self, self.screen.active_bindings)))

    def action_toggle_pause(self) -> None:
        """Ask the runtime to pause or resume; the status line shows what its snapshots say."""
        self._pause_requested = not self._pause_requested
        self._answer_at_once()
        self._feed.set_paused(self._pause_requested)

    def action_cycle_time_range(self) -> None:
        """Ask the feed for the next range of `TIME_RANGES_SECONDS` (from the configured
        window, the first longer one); the snapshots say the range they cover. While paused
        the screen stays frozen and the new range shows on resume."""
        current = (self._time_range_requested if self._time_range_requested is not None
                   else self._snapshot.time_range_seconds)
        self._time_range_requested = float(next(
            (seconds for seconds in TIME_RANGES_SECONDS if seconds > current),
            TIME_RANGES_SECONDS[0]))
        self._answer_at_once()
        self._feed.set_time_range(self._time_range_requested)
        notice = time_range_notice(self._time_range_requested,
                                   self._snapshot.engine_window_records,
                                   self._snapshot.engine_ranges)
        if self._pause_requested:
            notice += " Paused: shown on resume."
        self.notify(notice, title="Time range")

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
