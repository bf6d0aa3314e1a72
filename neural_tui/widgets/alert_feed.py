"""The overview's alert feed: a count of what fires, then the newest alerts, by severity colour;
and the firing alerts of each model written under its panel."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Label, Static

from neural_tui.alerts.view import AlertEntry, AlertsView
from neural_tui.alerts.wording import format_age
from neural_tui.app.alert_formatting import (
    alert_model,
    alert_severity,
    alert_title,
    count_line,
    most_urgent_first,
    severity_rank,
    severity_word,
    state_word,
)
from neural_tui.safe_text import safe_text
from neural_tui.widgets.model_panel import ModelPanel

FEED_ROWS = 5
"""Alerts listed under the count; the alerts screen (`a`) has them all."""
FIRING_CLASS = "-firing"
ALERTING_CLASSES = {"critical": "-alert-critical", "warning": "-alert-warning",
                    "info": "-alert-info"}
"""The class a panel takes from the worst severity among its model's firing alerts."""
FIRING_SIGN = "●"


class AlertFeed(Widget):
    """A count of firing and pending alerts, then the alerts: firing, pending, then resolved,
    newest first within each."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "alert-feed--critical", "alert-feed--warning", "alert-feed--info", "alert-feed--quiet",
    }

    def compose(self) -> ComposeResult:
        yield Label(id="alert-count")
        yield Static(id="alert-lines")

    def show(self, view: AlertsView) -> None:
        firing = any(entry.state == "firing" for entry in view.current)
        self.set_class(firing, FIRING_CLASS)
        self.query_one("#alert-count", Label).update(Text.assemble("ALERTS  ", count_line(view)))
        entries = most_urgent_first(view)
        lines = [self._line(entry, view.generated_at) for entry in entries[:FEED_ROWS]]
        if len(entries) > FEED_ROWS:
            lines.append(Text(f"… {len(entries) - FEED_ROWS} more: press a for every alert",
                              style=self.get_component_rich_style("alert-feed--quiet")))
        lines_widget = self.query_one("#alert-lines", Static)
        lines_widget.display = bool(lines)
        lines_widget.update(Text("\n").join(lines))

    def _line(self, entry: AlertEntry, now: float) -> Text:
        """`CRIT  firing    drift_high · fraud · 12m · summary`, in its severity's colour."""
        state = state_word(entry)
        head = Text.assemble(severity_word(alert_severity(entry)), "  ", f"{state:<9} ",
                             safe_text(alert_title(entry)))
        head.stylize(self._style(entry, state))
        line = Text.assemble(head)
        model = alert_model(entry)
        if model:
            line.append_text(Text.assemble(" · ", safe_text(model)))
        line.append(f" · {format_age(now - entry.since)}")
        summary = entry.alert.annotations.get("summary", "")
        if summary:
            line.append_text(Text.assemble(" · ", safe_text(summary)))
        return line

    def _style(self, entry: AlertEntry, state: str) -> Style:
        if state != "firing":
            return self.get_component_rich_style("alert-feed--quiet")
        severity = alert_severity(entry)
        name = severity if severity in ("critical", "warning") else "info"
        return self.get_component_rich_style(f"alert-feed--{name}")


def mark_panels(panels: Mapping[str, ModelPanel], view: AlertsView) -> None:
    """Write each model's firing alerts under its panel, worst first, and colour the panel.

    A silenced or inhibited alert is left out: someone already decided it should not page.
    """
    firing: dict[str, list[AlertEntry]] = {}
    for entry in view.current:
        if state_word(entry) in ("firing", "acked") and alert_model(entry) in panels:
            firing.setdefault(alert_model(entry), []).append(entry)
    for name, panel in panels.items():
        entries = sorted(firing.get(name, ()), key=_worst_first)
        _mark(panel, [(alert_title(entry), alert_severity(entry)) for entry in entries])


def mark_remote_panel(panel: ModelPanel, firing: Mapping[tuple[str, str], float]) -> None:
    """Write a remote model's firing alerts under its panel as `mark_panels` writes a local
    one's: `firing` is what its exporter publishes (`neural_alerts_firing` by rule and
    severity); a count that is not a positive number is not firing."""
    alerts = [(rule, severity) for (rule, severity), count in firing.items()
              if isinstance(count, int | float) and count > 0]
    _mark(panel, sorted(alerts, key=lambda alert: (severity_rank(alert[1]), alert[0])))


def _mark(panel: ModelPanel, alerts: list[tuple[str, str]]) -> None:
    """`alerts` (title, severity), worst first: the panel takes the worst one's colour."""
    worst = alerts[0][1] if alerts else None
    marked = None if worst is None else ALERTING_CLASSES.get(worst, ALERTING_CLASSES["info"])
    for css_class in ALERTING_CLASSES.values():
        panel.set_class(css_class == marked, css_class)
    panel.border_subtitle = _panel_subtitle([title for title, _ in alerts]) if alerts else None


def _worst_first(entry: AlertEntry) -> tuple[int, str]:
    return severity_rank(alert_severity(entry)), alert_title(entry)


def _panel_subtitle(titles: list[str]) -> Text:
    """`● 2 firing: drift_high, p95_latency` (the border cuts it where the panel ends)."""
    names = Text(", ").join(safe_text(title) for title in titles)
    return Text.assemble(f"{FIRING_SIGN} {len(titles)} firing: ", names)
