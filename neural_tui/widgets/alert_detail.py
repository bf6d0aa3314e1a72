"""One alert in full: its labels and values, since when, why it is quiet, and every
notification sent for it with how far it got."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from neural_tui.alerts.silencing import SLO_LABEL
from neural_tui.alerts.view import AlertEntry, AlertsView, DeliveryRecord
from neural_tui.alerts.wording import format_age, format_time_utc
from neural_tui.app.alert_formatting import (
    alert_model,
    alert_severity,
    alert_title,
    format_labels,
    format_values,
    severity_word,
    state_word,
)
from neural_tui.safe_text import safe_text


class AlertDetail(VerticalScroll, can_focus=False):
    """The selected alert of the alerts screen, redrawn from each new view."""

    def compose(self) -> ComposeResult:
        yield Static(id="alert-detail-text")

    def show(self, entry: AlertEntry, view: AlertsView) -> None:
        self.query_one("#alert-detail-text", Static).update(describe_alert(entry, view))


def describe_alert(entry: AlertEntry, view: AlertsView) -> Text:
    """Every line of the detail, as plain `Text` with the untrusted parts made safe."""
    alert = entry.alert
    heading = Text.assemble(safe_text(alert_title(entry)), style="bold")
    model = alert_model(entry)
    if model:
        heading.append_text(Text.assemble(" · ", safe_text(model)))
    heading.append_text(Text.assemble(" · ", severity_word(alert_severity(entry))))
    heading.append(f" · {state_word(entry)} for {format_age(view.generated_at - entry.since)}"
                   f" (since {format_time_utc(entry.since)})")
    lines = [heading]
    summary = alert.annotations.get("summary", "")
    if summary:
        lines.append(Text.assemble("summary: ", safe_text(summary)))
    lines.append(Text.assemble("labels: ", format_labels(alert.labels)))
    if alert.values:
        lines.append(Text.assemble("values: ", format_values(alert.values)))
    started = f"started {format_time_utc(alert.starts_at)}"
    if alert.ends_at is not None:
        started += f" · ended {format_time_utc(alert.ends_at)}"
    lines.append(Text(started))
    lines.extend(_quiet_lines(entry, view))
    lines.append(Text("notifications:" if entry.deliveries else "notifications: none sent yet"))
    lines.extend(_delivery_line(record) for record in entry.deliveries)
    return Text("\n").join(lines)


def _quiet_lines(entry: AlertEntry, view: AlertsView) -> list[Text]:
    """Why nobody is paged for it: a silence (with its SLO when it names one, and its
    comment), an inhibition, an ack."""
    lines: list[Text] = []
    if entry.silenced_by is not None:
        silence = next((s for s in view.silences if s.id == entry.silenced_by), None)
        line = Text.assemble("silenced by ", safe_text(entry.silenced_by))
        slo = silence.matchers.get(SLO_LABEL) if silence is not None else None
        if slo is not None:
            line.append_text(Text.assemble(" on SLO ", safe_text(slo)))
        if silence is not None:
            line.append_text(Text.assemble(
                f" until {format_time_utc(silence.ends_at)} (", safe_text(silence.author),
                ": ", safe_text(silence.comment), ")"))
        lines.append(line)
    if entry.inhibited:
        lines.append(Text("inhibited by a more severe alert of the same rule and model"))
    if entry.acknowledged_by is not None:
        lines.append(Text.assemble("acknowledged by ", safe_text(entry.acknowledged_by)))
    return lines


def _delivery_line(record: DeliveryRecord) -> Text:
    """`  slack  sent  2026-01-01 00:00:05 UTC  1 attempt  detail`."""
    attempts = f"{record.attempts} attempt" + ("" if record.attempts == 1 else "s")
    line = Text.assemble("  ", safe_text(record.channel), f"  {record.outcome}  ",
                         format_time_utc(record.at), f"  {attempts}")
    if record.detail:
        line.append_text(Text.assemble("  ", safe_text(record.detail)))
    return line
