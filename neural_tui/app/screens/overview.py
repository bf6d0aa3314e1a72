"""The overview: one panel per model, the ingest status line, and the key footer."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from neural_tui.alerts.view import AlertsView
from neural_tui.app.messages import AlertsArrived, SnapshotArrived
from neural_tui.app.widgets.alert_feed import AlertFeed, mark_panels
from neural_tui.app.widgets.model_panel import ModelPanel
from neural_tui.app.widgets.status_line import StatusLine
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import safe_text

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp


class OverviewScreen(Screen[None]):
    """Every model at a glance; panels are keyed by model name and updated in place."""

    def __init__(self) -> None:
        super().__init__()
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
        """From 120 columns the screen gets `-wide`, and the panels sit two abreast."""
        self._panels: dict[str, ModelPanel] = {}

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield AlertFeed(id="alert-feed")
        with VerticalScroll(id="overview", can_focus=False):
            yield Static(id="waiting")
            yield Container(id="panels")
        yield StatusLine(id="status")
        yield Footer()

    def on_screen_resume(self) -> None:
        """Show the latest snapshot when first shown, and catch up after another screen."""
        self.show(self.console_app.snapshot)

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.show(message.snapshot)

    def show(self, snapshot: Snapshot) -> None:
        with self.app.batch_update():
            self._show_models(snapshot.models)
            waiting = self.query_one("#waiting", Static)
            waiting.display = not snapshot.models
            waiting.update(self._waiting_text(snapshot))
            self.query_one(StatusLine).show(snapshot)
            self.show_alerts(self.console_app.alerts_view)

    def on_alerts_arrived(self, message: AlertsArrived) -> None:
        self.show_alerts(message.view)

    def show_alerts(self, view: AlertsView) -> None:
        """The feed (only while the alerting runs) and each panel's firing alerts."""
        feed = self.query_one(AlertFeed)
        feed.display = self.console_app.alerting
        if self.console_app.alerting:
            feed.show(view)
            mark_panels(self._panels, view)

    def _show_models(self, models: tuple[ModelSnapshot, ...]) -> None:
        """Update known panels, mount new ones in name order, drop models no longer reported."""
        names = {model.name for model in models}
        for name in [name for name in self._panels if name not in names]:
            self._panels.pop(name).remove()
        container = self.query_one("#panels", Container)
        previous: ModelPanel | None = None
        mounted = False
        for model in models:
            panel = self._panels.get(model.name)
            if panel is None:
                panel = self._panels[model.name] = ModelPanel(model, health=self.console_app.health)
                if previous is None:
                    container.mount(panel, before=0)
                else:
                    container.mount(panel, after=previous)
                mounted = True
            else:
                panel.show(model)
            previous = panel
        if mounted:
            self.call_after_refresh(self._select_first_panel)

    def on_model_panel_opened(self, message: ModelPanel.Opened) -> None:
        self.console_app.open_drill_down(message.model_name, message.view)

    def _select_first_panel(self) -> None:
        """Keys act on a panel from the start, without a first tab press."""
        if self.focused is None and self._panels:
            self.set_focus(self.query(ModelPanel).first())

    def _waiting_text(self, snapshot: Snapshot) -> Text:
        storage = self.console_app.source_label or ", ".join(snapshot.sources) or "storage"
        return Text.assemble("waiting for records in ", safe_text(storage), "...")
