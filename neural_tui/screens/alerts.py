"""Every alert: firing and pending first, then the recently resolved, newest first; the
selected one in detail; keys to acknowledge it, silence it, or lift its silence."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Label

from neural_tui import keymap
from neural_tui.alerts.silencing import SLO_LABEL, silence_matchers
from neural_tui.alerts.view import AlertEntry, AlertsView
from neural_tui.alerts.wording import alert_title as title_of
from neural_tui.alerts.wording import format_age
from neural_tui.app.alert_formatting import (
    alert_model,
    alert_name,
    alert_severity,
    alert_title,
    count_line,
    newest_first,
    severity_word,
    state_word,
)
from neural_tui.app.messages import AlertsArrived
from neural_tui.safe_text import safe_text
from neural_tui.screens.silence import SilenceRequest, SilenceScreen
from neural_tui.widgets.alert_detail import AlertDetail
from neural_tui.widgets.breadcrumb import Breadcrumb
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.keyed_table import KeyedRow, KeyedTable

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

ALERT_COLUMNS = (
    ("sev", "severity"),
    ("state", "state"),
    ("alert", "alert"),
    ("model", "model"),
    ("for", "age"),
    ("summary", "summary"),
)
"""Severity and state first, so that they stay in view on a narrow terminal."""
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
"""Sorting by severity puts the worst first; an unknown severity after these."""


CHANGES_ALERTING = frozenset({"acknowledge", "silence", "unsilence"})
"""The actions a read-only console (`--readonly`) does not take."""
READ_ONLY_REFUSAL = "read-only console: acknowledgements and silences are off (--readonly)"


def entry_key(entry: AlertEntry) -> str:
    """A row's key: one current row per alert, one resolved row per episode of it."""
    if entry.state == "resolved":
        return f"resolved:{entry.alert.fingerprint}:{entry.alert.starts_at!r}"
    return f"current:{entry.alert.fingerprint}"


class AlertsScreen(Screen[None]):
    """The alerts, kept up to date from each view the alerting publishes while on top."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id=keymap.BACK),
        Binding("a", "acknowledge", "Acknowledge", id=keymap.ACKNOWLEDGE),
        Binding("s", "silence", "Silence", id=keymap.SILENCE),
        Binding("u", "unsilence", "Lift silence", id=keymap.UNSILENCE),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alerts-screen--critical", "alerts-screen--warning", "alerts-screen--info",
        "alerts-screen--quiet",
    }

    def __init__(self, *, select: str | None = None) -> None:
        """`select`: the row key (`entry_key`) of the alert to select first, from the palette."""
        super().__init__()
        self._entries: dict[str, AlertEntry] = {}
        self._view = AlertsView.empty()
        self._select = select

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def compose(self) -> ComposeResult:
        yield Breadcrumb(id="breadcrumb")
        yield Label(id="alerts-title")
        yield Label("No alerts yet: rules fire here, newest first.", id="alerts-empty")
        yield KeyedTable(ALERT_COLUMNS, id="alerts-table")
        yield AlertDetail(id="alert-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        if self._select is not None:
            self.select(self._select)

    def select(self, key: str) -> None:
        """Select the alert whose row key is `key`, now or when it is shown."""
        self.query_one(KeyedTable).select_key(key)

    def on_screen_resume(self) -> None:
        self.show(self.console_app.alerts_view)

    def on_alerts_arrived(self, message: AlertsArrived) -> None:
        self.show(message.view)

    def show(self, view: AlertsView) -> None:
        self._view = view
        ordered = [*newest_first(view.current), *newest_first(view.resolved)]
        self._entries = {entry_key(entry): entry for entry in ordered}
        with self.app.batch_update():
            self.query_one("#alerts-title", Label).update(Text.assemble(
                "Alerts · ", "READ-ONLY · " if self.console_app.readonly else "",
                count_line(view)))
            self.query_one("#alerts-empty", Label).display = not ordered
            table = self.query_one(KeyedTable)
            table.display = bool(ordered)
            table.sync([self._row(key, entry, view.generated_at)
                        for key, entry in self._entries.items()])
            self._show_selected()

    def _row(self, key: str, entry: AlertEntry, now: float) -> KeyedRow:
        state = state_word(entry)
        severity = alert_severity(entry)
        if state != "firing":
            style = self.get_component_rich_style("alerts-screen--quiet")
        else:
            kind = severity if severity in ("critical", "warning") else "info"
            style = self.get_component_rich_style(f"alerts-screen--{kind}")
        marked = severity_word(severity)
        marked.stylize(style)
        return KeyedRow(key, (
            marked,
            Text(state, style=style),
            safe_text(alert_title(entry)),
            safe_text(alert_model(entry)),
            Text(format_age(now - entry.since), justify="right"),
            safe_text(entry.alert.annotations.get("summary", "")),
        ), (SEVERITY_RANK.get(severity, len(SEVERITY_RANK)), state, alert_title(entry),
            alert_model(entry), now - entry.since, entry.alert.annotations.get("summary", "")))

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def on_keyed_table_arranged(self, _: KeyedTable.Arranged) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        entry = self.selected_entry
        self.query_one(Breadcrumb).show(["Overview", "Alerts"],
                                        self.query_one(KeyedTable).arrangement)
        detail = self.query_one(AlertDetail)
        detail.display = entry is not None
        if entry is not None:
            detail.show(entry, self._view)

    @property
    def selected_entry(self) -> AlertEntry | None:
        key = self.query_one(KeyedTable).selected_key
        return self._entries.get(key) if key is not None else None

    def action_back(self) -> None:
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A read-only console binds no key that changes the alerting."""
        return not (action in CHANGES_ALERTING and self.console_app.readonly)

    def on_key(self, event: events.Key) -> None:
        """A read-only console has no alert command bound: its keys say why, rather than
        doing nothing (or falling through to the app's own binding for that key)."""
        if not self.console_app.readonly:
            return
        bound = self._bindings.key_to_bindings.get(event.key, [])
        if any(binding.action in CHANGES_ALERTING for binding in bound):
            event.stop()
            event.prevent_default()
            self._refused()

    def _refused(self) -> bool:
        """Whether this console may not change the alerting (and says so when asked to)."""
        if self.console_app.readonly:
            self.notify(READ_ONLY_REFUSAL, severity="warning")
        return self.console_app.readonly

    def action_acknowledge(self) -> None:
        if self._refused():
            return
        entry = self.selected_entry
        if entry is None or entry.state == "resolved":
            self.notify("Select a firing or pending alert to acknowledge.", severity="warning")
            return
        user = self.console_app.user
        fingerprint = entry.alert.fingerprint
        self.console_app.run_alert_command(
            f"acknowledged {alert_title(entry)}",
            lambda commands: commands.acknowledge(fingerprint, user),
        )

    def action_silence(self) -> None:
        if self._refused():
            return
        entry = self.selected_entry
        if entry is None:
            self.notify("Select an alert to silence.", severity="warning")
            return
        matchers = _matchers(entry)
        self.app.push_screen(SilenceScreen(matchers, author=self.console_app.user),
                             self._silence)

    def _silence(self, request: SilenceRequest | None) -> None:
        if request is None:
            return
        self.console_app.run_alert_command(
            f"silenced {title_of(request.matchers)} for {request.duration_text}",
            lambda commands: commands.silence(request.matchers, request.seconds,
                                              request.comment, request.author),
        )

    def action_unsilence(self) -> None:
        if self._refused():
            return
        entry = self.selected_entry
        silence_id = entry.silenced_by if entry is not None else None
        if silence_id is None:
            self.notify("The selected alert is not silenced.", severity="warning")
            return
        self.console_app.run_alert_command(
            f"lifted silence {silence_id}",
            lambda commands: _unsilence(commands.unsilence(silence_id), silence_id),
        )


def _matchers(entry: AlertEntry) -> dict[str, str]:
    """The alert's rule on its model, as `neural-tui alerts silence --rule --model` makes it
    (an SLO burn alert: on its SLO only, as every SLO shares the rule name); an alert without
    a rule name is matched by all its labels."""
    name = alert_name(entry)
    if not name:
        return dict(entry.alert.labels)
    matchers = silence_matchers(name, alert_model(entry) or None)
    slo = entry.alert.labels.get(SLO_LABEL)
    if slo is not None:
        matchers[SLO_LABEL] = slo
    return matchers


def _unsilence(lifted: bool, silence_id: str) -> None:
    """An unknown or expired silence is reported as a failure, not as done."""
    if not lifted:
        raise LookupError(f"no active silence {silence_id}")
