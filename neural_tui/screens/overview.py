"""The overview: one panel per model, grouped by source, a filter, the status line, the keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, VerticalGroup, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from neural_tui import keymap
from neural_tui.alerts.view import AlertsView
from neural_tui.app.fleet_groups import (
    Group,
    group_matches,
    group_models,
    model_matches,
    waiting_text,
)
from neural_tui.app.messages import AlertsArrived, SnapshotArrived
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import safe_text
from neural_tui.widgets.alert_feed import AlertFeed, mark_panels, mark_remote_panel
from neural_tui.widgets.breadcrumb import Breadcrumb
from neural_tui.widgets.history_progress import HistoryProgressBar
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.model_filter import ModelFilter
from neural_tui.widgets.model_panel import ModelPanel
from neural_tui.widgets.replay_bar import ReplayBar
from neural_tui.widgets.status_line import StatusLine

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

FILTERING_CLASS = "-filtering"
"""The screen shows its filter input while it has this class."""
DOWN_CLASS = "-down"
"""A group heading whose source is down or failing."""
ACROSS_CLASSES = {1: "-one-across", 2: "-two-across", 3: "-three-across"}
"""How many panels sit side by side (app.tcss sets the grid from it)."""
STACKED_CLASS = "-stacked-verdicts"
"""The panels write their drift, quality and performance verdicts one under another."""
GRID_GUTTER = 1
"""Columns between two panels side by side (`grid-gutter` in app.tcss)."""
SPARKLINE_ROWS_CLASSES = {rows: f"-sparklines-{rows}" for rows in range(1, 13)}
"""How tall the panels draw their sparklines (app.tcss), so that they fill a tall terminal."""
PANEL_ROWS = 11
"""Rows of a panel with one-row sparklines, its verdicts stacked and a wrapped line."""


def panels_across(width: int, inline: Sequence[int], stacked: Sequence[int]) -> tuple[int, bool]:
    """How many panels fit side by side in `width` columns, and whether their verdicts must
    be stacked for it: the most across at which every panel's lines fit uncut (`inline`
    widths, else `stacked` ones); one across, stacked if need be, when none does."""
    def fits(across: int, needs: Sequence[int]) -> bool:
        return across * max(needs, default=0) + (across - 1) * GRID_GUTTER <= width

    for across in sorted(ACROSS_CLASSES, reverse=True):
        if fits(across, inline):
            return across, False
        if across > 1 and fits(across, stacked):
            return across, True
    return 1, not fits(1, inline)


def sparkline_rows(height: int, panel_rows: int) -> int:
    """The tallest sparklines (of the `SPARKLINE_ROWS_CLASSES`) with which `panel_rows` rows
    of panels still fit in `height` rows: the three of a panel share what is left over."""
    spare = height // max(panel_rows, 1) - PANEL_ROWS
    return max(1, min(max(SPARKLINE_ROWS_CLASSES), 1 + spare // 3))


class SourceGroup(VerticalGroup):
    """One source's heading (hidden while the console reads local storage only) above the
    grid of its panels."""

    def __init__(self, key: str, panels: list[ModelPanel]) -> None:
        self.heading = Static(classes="group-heading")
        self.grid = Container(*panels, classes="group-panels")
        super().__init__(self.heading, self.grid, classes="source-group")
        self.key = key


class OverviewScreen(Screen[None]):
    """Every model at a glance; panels are keyed by `ModelSnapshot.uid`, groups by source,
    and both are updated in place and kept in the groups' order."""

    AUTO_FOCUS = "ModelPanel"
    """A panel takes the focus (once mounted: `on_model_panel_ready`), never the hidden
    filter input."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id=keymap.FILTER, priority=True),
        Binding("escape", "clear_filter", "Clear filter", id=keymap.CLEAR_FILTER),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._panels: dict[str, ModelPanel] = {}
        self._sources: dict[str, SourceGroup] = {}
        self._groups: list[Group] = []
        self._filter = ""

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Breadcrumb(id="breadcrumb")
        yield ReplayBar(self.console_app.replay, id="replay-bar")
        yield AlertFeed(id="alert-feed")
        yield ModelFilter(id="model-filter")
        yield HistoryProgressBar(id="history-progress")
        with VerticalScroll(id="overview", can_focus=False):
            yield Static(id="waiting")
            yield Container(id="panels")
        yield StatusLine(id="status")
        yield KeyFooter()

    def on_screen_resume(self) -> None:
        """Show the latest snapshot when first shown, and catch up after another screen."""
        self.show(self.console_app.snapshot)

    def on_snapshot_arrived(self, message: SnapshotArrived) -> None:
        self.show(message.snapshot)

    def show(self, snapshot: Snapshot) -> None:
        app = self.console_app
        with app.batch_update():
            self._groups = group_models(snapshot, app.fleet, self._storage(snapshot))
            self._show_groups(self._groups)
            self._show_breadcrumb()
            self._apply_filter()
            self._show_waiting(snapshot)
            self.query_one(HistoryProgressBar).show(snapshot)
            self._lay_out()
            self.query_one(StatusLine).show(snapshot, local=app.fleet.local)
            self.show_alerts(app.alerts_view)

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        """Set the panels side by side only as far as every line of every shown panel fits."""
        shown = [panel for panel in self._panels.values() if panel.display]
        width = self.query_one("#overview", VerticalScroll).scrollable_content_region.width
        widths = [panel.needed_widths() for panel in shown]
        across, stacked = panels_across(width or self.size.width,
                                        [side_by_side for side_by_side, _ in widths],
                                        [one_per_line for _, one_per_line in widths])
        for count, name in ACROSS_CLASSES.items():
            self.set_class(count == across, name)
        self.set_class(stacked, STACKED_CLASS)
        shown_uids = {panel.uid for panel in shown}
        panel_rows = sum(-(-sum(model.uid in shown_uids for model in group.models) // across)
                         + (group.heading is not None) for group in self._groups)
        height = self.query_one("#overview", VerticalScroll).scrollable_content_region.height
        rows = sparkline_rows(height or self.size.height, panel_rows)
        for count, name in SPARKLINE_ROWS_CLASSES.items():
            self.set_class(count == rows, name)

    def on_alerts_arrived(self, message: AlertsArrived) -> None:
        self.show_alerts(message.view)

    def show_alerts(self, view: AlertsView) -> None:
        """The feed (only while the alerting runs) and each local panel's firing alerts; a
        remote panel shows what its exporter says fires (`_show_groups`)."""
        feed = self.query_one(AlertFeed)
        feed.display = self.console_app.alerting
        if self.console_app.alerting:
            feed.show(view)
            local = {uid: panel for uid, panel in self._panels.items() if not panel.remote}
            mark_panels(local, view)

    def _show_groups(self, groups: list[Group]) -> None:
        """Update known panels and groups, mount new ones, drop those no longer reported,
        and keep them all in the groups' order.

        A group mounted by the previous snapshot may not hold its grid yet: its new panels
        wait for the next refresh, which shows the snapshot again.
        """
        wanted_groups: list[Widget] = []
        wanted_uids: set[str] = set()
        behind = False
        for group in groups:
            wanted_uids.update(model.uid for model in group.models)
            source = self._sources.get(group.key)
            if source is None:
                panels = [self._new_panel(model) for model in group.models]
                source = self._sources[group.key] = SourceGroup(group.key, panels)
            elif source.grid.is_attached:
                panels = [self._panels.get(model.uid) or self._new_panel(model)
                          for model in group.models]
                self._place(source.grid, panels)
            else:
                behind = behind or any(m.uid not in self._panels for m in group.models)
            for model in group.models:
                panel = self._panels.get(model.uid)
                if panel is not None:
                    panel.show(model)
                    if model.remote is not None:
                        mark_remote_panel(panel, model.remote.alerts_firing)
            source.heading.update(group.heading or "")
            source.heading.set_class(group.down, DOWN_CLASS)
            wanted_groups.append(source)
        for uid in [uid for uid in self._panels if uid not in wanted_uids]:
            self._panels.pop(uid).remove()
        kept = {group.key for group in groups}
        for key in [key for key in self._sources if key not in kept]:
            self._sources.pop(key).remove()
        self._place(self.query_one("#panels", Container), wanted_groups)
        if behind:
            self.call_after_refresh(self._catch_up)

    def _new_panel(self, model: ModelSnapshot) -> ModelPanel:
        panel = self._panels[model.uid] = ModelPanel(model, health=self.console_app.health)
        return panel

    def _catch_up(self) -> None:
        self.show(self.console_app.snapshot)

    @staticmethod
    def _place(container: Widget, wanted: Sequence[Widget]) -> None:
        """Mount new widgets and move known ones so `container` holds `wanted` in order."""
        for index, widget in enumerate(wanted):
            children = container.children
            if index < len(children) and children[index] is widget:
                continue
            if widget.parent is container:
                container.move_child(widget, before=index)
                continue
            if index < len(children):
                container.mount(widget, before=index)
            else:
                container.mount(widget)

    def _apply_filter(self) -> None:
        """Show the panels the filter names, and the groups left in view (a group without
        models stays while the filter names its source); keep the selection on a shown
        panel."""
        for group in self._groups:
            shown = False
            for model in group.models:
                panel = self._panels.get(model.uid)
                visible = model_matches(self._filter, model, group)
                if panel is not None:
                    panel.display = visible
                shown = shown or visible
            source = self._sources[group.key]
            source.display = shown or (not group.models and group_matches(self._filter, group))
            source.heading.display = group.heading is not None
        focused = self.focused
        if isinstance(focused, ModelPanel) and not focused.display:
            self._select_first_panel(force=True)

    def on_model_panel_ready(self, _: ModelPanel.Ready) -> None:
        """Keys act on a panel from the start, without a first tab press."""
        self._select_first_panel()

    def on_model_panel_opened(self, message: ModelPanel.Opened) -> None:
        self.console_app.open_drill_down(message.uid, message.view)

    def _select_first_panel(self, *, force: bool = False) -> None:
        """Focus the first panel shown, unless something has the focus (`force`: even so),
        and show the top of the overview: the first group's heading sits above that panel,
        and scrolling the panel into view would hide it."""
        if self.focused is not None and not force:
            return
        first = next((panel for panel in self.query(ModelPanel) if panel.display), None)
        if first is not None:
            self.set_focus(first, scroll_visible=False)
            self.query_one("#overview", VerticalScroll).scroll_home(animate=False)

    def action_filter(self) -> None:
        self.add_class(FILTERING_CLASS)
        # Focused now rather than after the queued events (as `focus()` does): the keys typed
        # right after `/`, in the same burst, are the filter's text, not commands.
        self.set_focus(self.query_one(ModelFilter))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Escape clears the filter only while there is one; `/` opens it unless it has the
        keys (then `/` is text). `/` is a priority binding, run as its key arrives, so the keys
        typed right after it in the same burst already reach the filter."""
        if action == "filter":
            return self.focused is not self.query_one(ModelFilter)
        return bool(self._filter) if action == "clear_filter" else True

    def action_clear_filter(self) -> None:
        self.query_one(ModelFilter).action_clear()

    def on_input_changed(self, message: Input.Changed) -> None:
        if isinstance(message.input, ModelFilter):
            self._filter = message.value
            self._refresh_filter()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        """Enter keeps the filter and hands the keys back to the panels shown."""
        if isinstance(message.input, ModelFilter):
            if not message.value.strip():
                self.remove_class(FILTERING_CLASS)
            self.set_focus(None)
            self._select_first_panel()

    def on_model_filter_cleared(self, _: ModelFilter.Cleared) -> None:
        self._filter = ""
        self.remove_class(FILTERING_CLASS)
        self._refresh_filter()
        self.set_focus(None)
        self._select_first_panel()

    def _refresh_filter(self) -> None:
        self._show_breadcrumb()
        self._apply_filter()
        self._lay_out()
        self._show_waiting(self.console_app.snapshot)
        self.refresh_bindings()

    def _show_breadcrumb(self) -> None:
        self.query_one(Breadcrumb).show(["Overview"],
                                        f"filter {self._filter!r}" if self._filter else "")

    def _storage(self, snapshot: Snapshot) -> str:
        """The local storage's name: the console's label, else the snapshot's sources."""
        if self.console_app.source_label:
            return self.console_app.source_label
        return ("storage" if self.console_app.fleet.remote
                else ", ".join(snapshot.sources) or "storage")

    def _show_waiting(self, snapshot: Snapshot) -> None:
        """What the console waits for while no model is known, or that the filter hides
        every model."""
        waiting = self.query_one("#waiting", Static)
        hidden = bool(self._filter) and not any(p.display for p in self._panels.values())
        waiting.display = not snapshot.models or hidden
        if not snapshot.models:
            waiting.update(waiting_text(snapshot, self.console_app.fleet,
                                        self._storage(snapshot)))
        elif hidden:
            waiting.update(Text.assemble("no model or source matches ", safe_text(self._filter),
                                         " (esc clears the filter)"))
