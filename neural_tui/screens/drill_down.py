"""What every closer look at one model shares: its keys, and rendering only while on top.

A remote model has no records, so its screens show what its exporter publishes instead of the
engines' reports, and say so (`REMOTE_CLASS`, `remote_origin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label

from neural_tui import keymap
from neural_tui.app.formatting import MAX_VERSION_CELLS, format_range, short_name
from neural_tui.app.messages import DrillView, SnapshotArrived
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import safe_text
from neural_tui.widgets.breadcrumb import Breadcrumb
from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_filter import ModelFilter
from neural_tui.widgets.model_panel import waiting_reason
from neural_tui.widgets.replay_bar import ReplayBar

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

SHORT_ROWS = 32
COMPACT_TABLE_ROWS = 8
"""Rows of a table a drill-down keeps in view on a short terminal (80x24); app.tcss gives
its tables `min-height` for them and their heading."""
REMOTE_CLASS = "-remote"
"""A drill-down of a remote model has this class: its screen shows the exported figures."""
FILTERING_CLASS = "-filtering"
"""The screen shows its feature filter while it has this class."""


class DrillDownScreen(Screen[None]):
    """One model (by `ModelSnapshot.uid`), looked at closely; subclasses render a
    `ModelSnapshot` in `show_model`.

    The app hands snapshots only to the screen on top, so a covered screen does no work; it
    catches up from the latest snapshot when it is shown again.
    """

    VIEW: ClassVar[DrillView]
    VIEW_TITLE: ClassVar[str]
    SELECTION_TABLE: ClassVar[str | None] = None
    """The selector of the table whose selected row the breadcrumb names (and `select` picks)."""
    SELECTION_NOUN: ClassVar[str] = ""
    """What a row of that table is (`feature`), said before its name in the breadcrumb."""
    FILTERED_TABLES: ClassVar[tuple[str, ...]] = ()
    """The selectors of the tables `/` filters by feature name (none: no filter)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id=keymap.BACK),
        Binding("d", "open('drift')", "Drift", id=keymap.DRIFT),
        Binding("c", "open('quality')", "Quality", id=keymap.QUALITY),
        Binding("s", "open('slo')", "SLOs", id=keymap.SLO),
        Binding("l", "open('latency')", "Latency", id=keymap.LATENCY),
        Binding("slash", "filter", "Filter", id=keymap.TABLE_FILTER, priority=True,
                tooltip="Filter features"),
    ]

    def __init__(self, uid: str, *, engine_interval_seconds: float = 10.0) -> None:
        super().__init__()
        self.uid = uid
        self.engine_interval_seconds = engine_interval_seconds
        self._select: str | None = None
        self._version = ""
        self._reported = False
        """Whether the last snapshot shown holds the model (else its table is stale)."""
        self.HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
        """From 120 columns the screen gets `-wide`, and the detail sits beside the table."""
        self.VERTICAL_BREAKPOINTS = [(0, "-short"), (SHORT_ROWS, "-roomy")]
        """Under `SHORT_ROWS` rows the screen gets `-short`: headers keep to one line each and
        the table keeps room for `COMPACT_TABLE_ROWS`, the detail below it gets the rest."""

    def on_mount(self) -> None:
        """Every drill-down gets the breadcrumb on top (in a replay, the replay bar under it;
        the filter, if it has one) without each screen composing them."""
        self.mount(Breadcrumb(id="breadcrumb"), before=0)
        replay = self.console_app.replay
        if replay is not None:
            self.mount(ReplayBar(replay, id="replay-bar"), after="#breadcrumb")
        if self.FILTERED_TABLES:
            self.mount(ModelFilter(placeholder="filter features by name (esc clears)",
                                   id="feature-filter"), after="#breadcrumb")
        if self._select is not None and self.SELECTION_TABLE is not None:
            self.query_one(self.SELECTION_TABLE, KeyedTable).select_key(self._select)

    def select_row(self, key: str) -> None:
        """Before the screen is shown: select the row keyed `key` (a feature, an SLO; from the
        palette) in its selection table as soon as the table shows it."""
        self._select = key
        if self.is_mounted and self.SELECTION_TABLE is not None:
            self.query_one(self.SELECTION_TABLE, KeyedTable).select_key(key)

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

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
            self._reported = model is not None
            if model is not None:
                self._version = model.version
            self.show_breadcrumb()

    def show_breadcrumb(self) -> None:
        """Overview, model and version, view, selected row; then the table's sort and filter."""
        crumbs = self.query(Breadcrumb)
        if not crumbs:
            return
        places = ["Overview", f"{self.uid} {self._version}".strip(),
                  self.VIEW_TITLE[:1].upper() + self.VIEW_TITLE[1:]]
        arrangement = ""
        if self.SELECTION_TABLE is not None and self._reported:
            table = self.query_one(self.SELECTION_TABLE, KeyedTable)
            arrangement = table.arrangement
            if table.selected_key is not None:
                places.append(f"{self.SELECTION_NOUN} {table.selected_key}".strip())
        crumbs.first().show(places, arrangement)

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self.show_breadcrumb()

    def on_keyed_table_arranged(self, _: KeyedTable.Arranged) -> None:
        self.show_breadcrumb()

    def show_model(self, model: ModelSnapshot | None) -> None:
        """Render `model`, or say that the model is no longer reported (None)."""
        raise NotImplementedError

    def _title(self, model: ModelSnapshot | None) -> Text:
        name = short_name(self.uid)
        if model is None:
            return Text.assemble(name, " · no longer reported")
        version = short_name(model.version, MAX_VERSION_CELLS)
        return Text.assemble(name, " · ", version, f" · {self.VIEW_TITLE}")

    def waiting_text(self, model: ModelSnapshot | None) -> str:
        """Why there is nothing to show yet: the model is gone, or its engines have not run."""
        if model is None:
            return "This model is not in the latest snapshot."
        scope = model.engine_range
        if scope is not None:
            return (f"No {self.VIEW} report for the {format_range(scope.seconds)}: "
                    f"{model.analysis_waiting}.")
        waiting = waiting_reason(model, self.VIEW_TITLE)
        if waiting:
            return (f"No {self.VIEW} report yet: {waiting}. The reference is the model's "
                    "reference file, else its first [drift] reference_rows records.")
        seconds = f"{self.engine_interval_seconds:g}"
        return f"Waiting for the first {self.VIEW} run (engines run every {seconds} s)"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`/` only where there are features to filter, and not while the filter has the keys
        (there `/` is text). It is a priority binding, run as its key arrives, so the keys typed
        right after it in the same burst already reach the filter."""
        if action == "filter":
            return bool(self.FILTERED_TABLES) and self.focused is not self.query_one(
                "#feature-filter", ModelFilter)
        return True

    def action_back(self) -> None:
        """Clear the feature filter if there is one, else go back."""
        if self.has_class(FILTERING_CLASS):
            self.query_one("#feature-filter", ModelFilter).action_clear()
            return
        self.app.pop_screen()

    def action_filter(self) -> None:
        self.add_class(FILTERING_CLASS)
        # Focused now, not after the queued keys: those typed right after `/` are its text.
        self.set_focus(self.query_one("#feature-filter", ModelFilter))

    def _filter_tables(self, text: str) -> None:
        for selector in self.FILTERED_TABLES:
            self.query_one(selector, KeyedTable).set_filter(text)

    def on_input_changed(self, message: Input.Changed) -> None:
        if message.input.id == "feature-filter":
            self._filter_tables(message.value)

    def on_input_submitted(self, message: Input.Submitted) -> None:
        """Enter keeps the filter and hands the keys back to the table."""
        if message.input.id == "feature-filter":
            if not message.value.strip():
                self.remove_class(FILTERING_CLASS)
            self._focus_table()

    def on_model_filter_cleared(self, _: ModelFilter.Cleared) -> None:
        self.remove_class(FILTERING_CLASS)
        self._filter_tables("")
        self._focus_table()

    def _focus_table(self) -> None:
        """The filtered table in view: a remote model's is the last one."""
        selector = self.FILTERED_TABLES[-1 if self.has_class(REMOTE_CLASS) else 0]
        self.set_focus(self.query_one(selector, KeyedTable))

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
