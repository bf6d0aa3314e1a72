"""How alerts are written on screen: their name, model, severity, state, age and figures.

Labels, annotations and values come from rules and from model names found in logs, so every
one of them goes through `safe_text`. Ages are measured against the view's own clock
(`AlertsView.generated_at`), so the same view always reads the same.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from rich.text import Text

from neural_tui.alerts.view import AlertEntry, AlertsView
from neural_tui.alerts.wording import alert_title as title_of
from neural_tui.safe_text import safe_text

SEVERITY_ORDER = ("critical", "warning", "info")
"""Worst first; an alert with any other severity label sorts after them."""
SEVERITY_WORDS = {"critical": "CRIT", "warning": "WARN", "info": "INFO"}
"""The severity spelled out beside its colour, so it never rests on colour alone."""


def alert_name(entry: AlertEntry) -> str:
    return entry.alert.labels.get("alertname", "")


def alert_title(entry: AlertEntry) -> str:
    return title_of(entry.alert.labels)


def alert_model(entry: AlertEntry) -> str:
    return entry.alert.labels.get("model", "")


def alert_severity(entry: AlertEntry) -> str:
    return entry.alert.labels.get("severity", "")


def severity_word(severity: str) -> Text:
    """`CRIT`, `WARN`, `INFO`, or the label itself (made safe) for any other severity."""
    word = SEVERITY_WORDS.get(severity)
    return Text(word) if word is not None else safe_text(severity[:8] or "?")


def severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def state_word(entry: AlertEntry) -> str:
    """The lifecycle state, and why a firing alert sends nothing when it does not."""
    if entry.state != "firing":
        return entry.state
    if entry.silenced_by is not None:
        return "silenced"
    if entry.inhibited:
        return "inhibited"
    if entry.acknowledged_by is not None:
        return "acked"
    return "firing"


def format_alert_value(value: float) -> str:
    """A figure the condition saw: four significant digits, and NaN or infinity by name."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.4g}"


def most_urgent_first(view: AlertsView) -> list[AlertEntry]:
    """Firing, then pending, then recently resolved alerts; newest first within each, so a
    burst of resolved or pending alerts never pushes a firing one out of a short list."""
    firing = [entry for entry in view.current if entry.state == "firing"]
    pending = [entry for entry in view.current if entry.state != "firing"]
    return [*newest_first(firing), *newest_first(pending), *newest_first(view.resolved)]


def newest_first(entries: Iterable[AlertEntry]) -> list[AlertEntry]:
    """By the time each entry reached its state, newest first (ties keep their order)."""
    return sorted(entries, key=lambda entry: -entry.since if math.isfinite(entry.since) else 0.0)


def count_line(view: AlertsView) -> Text:
    """`2 firing (1 critical, 1 warning) · 1 pending · 1 silenced`, or that none fire.

    Silenced and inhibited alerts still fire (and count as firing): they only send nothing.
    """
    firing = [entry for entry in view.current if entry.state == "firing"]
    pending = sum(1 for entry in view.current if entry.state == "pending")
    silenced = sum(1 for entry in firing if entry.silenced_by is not None)
    inhibited = sum(1 for entry in firing if entry.silenced_by is None and entry.inhibited)
    if not firing and not pending:
        return Text("no alerts firing")
    by_severity: dict[str, int] = {}
    for entry in firing:
        severity = alert_severity(entry)
        by_severity[severity] = by_severity.get(severity, 0) + 1
    line = Text(f"{len(firing)} firing")
    if by_severity:
        ordered = sorted(by_severity.items(), key=lambda item: (severity_rank(item[0]), item[0]))
        parts = Text(", ").join(Text(f"{count} ") + safe_text(name or "no severity")
                                for name, count in ordered)
        line.append_text(Text.assemble(" (", parts, ")"))
    if pending:
        line.append(f" · {pending} pending")
    if silenced:
        line.append(f" · {silenced} silenced")
    if inhibited:
        line.append(f" · {inhibited} inhibited")
    return line


def format_labels(labels: Mapping[str, str]) -> Text:
    """`alertname=drift_high, model=fraud`, sorted by name, every key and value made safe."""
    return Text(", ").join(safe_text(f"{key}={value}") for key, value in sorted(labels.items()))


def format_values(values: Mapping[str, float]) -> Text:
    return Text(", ").join(safe_text(name) + f"={format_alert_value(value)}"
                           for name, value in sorted(values.items()))
