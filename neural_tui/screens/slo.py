"""A model's SLOs: error budget, burn rate per window, firing burn alerts, breach history; for
a remote model, the SLO figures and firing alerts its exporter publishes."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalGroup
from textual.widgets import DataTable, Label, Static

from neural_tui.app.alert_formatting import severity_rank, severity_word
from neural_tui.app.formatting import format_count, format_datetime_utc, format_duration
from neural_tui.app.slo_text import (
    budget_percent,
    burn_rates_text,
    concern,
    format_budget,
    format_burn_rate,
    format_fraction,
    target_text,
    type_text,
    worst_first,
)
from neural_tui.engines.slo import SHOWN_BREACHES, Breach, SLOAlert, SLOStatus, duration_name
from neural_tui.remote_models import RemoteFigures, SLOFigure
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.safe_text import safe_text
from neural_tui.screens.drill_down import DrillDownScreen, remote_origin, remote_source
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.keyed_table import KeyedRow, KeyedTable

WAITING_CLASS = "-waiting"
BUDGET_BAR_WIDTH = 10
BUDGET_FULL, BUDGET_EMPTY = "█", "░"
OVERSPENT_BAR = " OVERSPENT"
"""Drawn in place of the bar (the same width) once the budget is below zero."""

SLO_COLUMNS = (
    ("SLO", "slo"),
    ("status", "status"),
    ("error budget", "budget"),
    ("SLI", "sli"),
    ("target", "target"),
    ("type", "type"),
    ("exhausted in", "exhaustion"),
    ("burn rate", "burn"),
)
"""Status and budget come right after the name, so they stay in view at 80 columns; the burn
rates, the widest cell, come last."""

SUMMARY_WORDS = {
    "PAGE": "paging",
    "BUDGET EXHAUSTED": "exhausted",
    "TICKET": "ticket",
    "NO DATA": "without data",
}
"""How the summary line counts each concern (`slo_text.concern`), most urgent first."""

BREACH_COLUMNS = (("breach start", "start"), ("end", "end"), ("duration", "duration"))

REMOTE_SLO_COLUMNS = (
    ("SLO", "slo"),
    ("error budget", "budget"),
    ("compliance", "compliance"),
    ("burn rate", "burn"),
)
"""What an exporter publishes of an SLO (`SLOFigure`): no target, events or breaches."""
NO_BREACHES = ("A remote model's exporter publishes each SLO's compliance, remaining budget "
               "and burn rates, not its target, events or breaches: those are on its own host.")
_WINDOW = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WINDOW_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


class SLOScreen(DrillDownScreen):
    """The SLOs of one model, most urgent first, the selected one in detail with its breaches.

    Rows are keyed by SLO name and updated in place on every snapshot while it is on top.
    """

    VIEW = "slo"
    VIEW_TITLE = "SLOs"
    SELECTION_TABLE = "#slo-table"
    SELECTION_NOUN = "SLO"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "slo-screen--page",
        "slo-screen--ticket",
        "slo-screen--ok",
        "slo-screen--muted",
        "slo-screen--budget",
        "slo-screen--heading",
        "slo-screen--overspent",
    }
    """Styles of the cells and the detail, set in app.tcss."""

    def __init__(self, model_name: str, *, engine_interval_seconds: float = 10.0) -> None:
        super().__init__(model_name, engine_interval_seconds=engine_interval_seconds)
        self._statuses: dict[str, SLOStatus] = {}

    def compose(self) -> ComposeResult:
        yield Label(id="drill-title")
        yield Label(id="slo-summary")
        yield Static(id="slo-waiting")
        with Container(id="slo-body"):
            yield KeyedTable(SLO_COLUMNS, id="slo-table")
            with VerticalGroup(id="slo-detail"):
                yield Label(id="slo-detail-text")
                yield KeyedTable(BREACH_COLUMNS, id="breach-table")
        with Container(id="remote-slo-body"):
            yield Label(id="remote-slo-alerts")
            yield KeyedTable(REMOTE_SLO_COLUMNS, id="remote-slo-table")
            yield Static(NO_BREACHES, id="remote-slo-note")
        yield KeyFooter()

    def show_model(self, model: ModelSnapshot | None) -> None:
        if model is not None and model.remote is not None:
            self._show_remote(model, model.remote)
            return
        statuses = worst_first(model.slos) if model is not None else []
        keys = unique_keys([status.spec.name for status in statuses])
        self._statuses = dict(zip(keys, statuses, strict=True))
        self.set_class(not statuses, WAITING_CLASS)
        if not statuses:
            self.query_one("#slo-waiting", Static).update(_waiting_text(model))
            return
        self.query_one("#slo-summary", Label).update(_summary(statuses))
        styles = self._styles()
        self.query_one("#slo-table", KeyedTable).sync(
            [_row(key, status, styles) for key, status in self._statuses.items()]
        )
        self._show_selected()

    def _show_remote(self, model: ModelSnapshot, figures: RemoteFigures) -> None:
        """The exported SLO figures, least budget left first, and the firing alerts."""
        self.set_class(False, WAITING_CLASS)
        styles = self._styles()
        slos = sorted(figures.slos, key=_least_budget_first)
        self.query_one("#slo-summary", Label).update(_remote_summary(model, slos))
        self.query_one("#remote-slo-alerts", Label).update(
            firing_alerts_text(figures.alerts_firing, styles))
        keys = unique_keys([slo.slo for slo in slos])
        self.query_one("#remote-slo-table", KeyedTable).sync(
            [_remote_row(key, slo, styles) for key, slo in zip(keys, slos, strict=True)])

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        if message.data_table.id == "slo-table":
            self._show_selected()

    def _show_selected(self) -> None:
        """The selected SLO's figures, alerts and breaches, from the last snapshot shown."""
        key = self.query_one("#slo-table", KeyedTable).selected_key
        status = self._statuses.get(key) if key is not None else None
        detail = self.query_one("#slo-detail", VerticalGroup)
        detail.display = status is not None
        if status is None:
            return
        styles = self._styles()
        self.query_one("#slo-detail-text", Label).update(_detail(status, styles))
        newest_first = sorted(status.breaches, key=lambda breach: -breach.start)[:SHOWN_BREACHES]
        keys = unique_keys([repr(breach.start) for breach in newest_first])
        self.query_one("#breach-table", KeyedTable).sync(
            [_breach_row(key, breach, styles) for key, breach in zip(keys, newest_first,
                                                                      strict=True)]
        )

    def _styles(self) -> dict[str, Style]:
        """The component styles by short name ("page", "ticket", "ok", "muted", ...)."""
        prefix = "slo-screen--"
        return {name.removeprefix(prefix): self.get_component_rich_style(name)
                for name in self.COMPONENT_CLASSES}


def unique_keys(names: list[str]) -> list[str]:
    """One row key per name: the name, numbered from the second time it repeats (a table
    refuses two rows with one key). Linear in the names, however many repeat."""
    keys: list[str] = []
    taken: set[str] = set()
    repeats: dict[str, int] = {}
    for name in names:
        count = repeats.get(name, 0) + 1
        key = name if count == 1 else f"{name} #{count}"
        while key in taken:
            count += 1
            key = f"{name} #{count}"
        repeats[name] = count
        taken.add(key)
        keys.append(key)
    return keys


def _waiting_text(model: ModelSnapshot | None) -> str:
    if model is None:
        return "This model is not in the latest snapshot."
    return ("No SLO status for this model yet: none of the config's [[slo]] tables applies to "
            "it, or none is configured (config.example.toml shows how).")


def _summary(statuses: list[SLOStatus]) -> Text:
    """How many SLOs there are and how many need attention, at the record time judged."""
    concerns = [found.word for status in statuses if (found := concern(status))]
    counts = [f"{concerns.count(word)} {said}" for word, said in SUMMARY_WORDS.items()
              if word in concerns]
    healthy = len(statuses) - len(concerns)
    parts = [f"{len(statuses)} SLO{'s' if len(statuses) != 1 else ''}", *counts,
             f"{healthy} fine", f"record time {format_datetime_utc(statuses[0].at)}"]
    return Text(" · ".join(parts))


def _row(key: str, status: SLOStatus, styles: dict[str, Style]) -> KeyedRow:
    return KeyedRow(
        key,
        (
            safe_text(status.spec.name),
            _status_cell(status, styles),
            budget_bar(status.error_budget_remaining, styles),
            Text(format_fraction(status.sli), justify="right"),
            Text(f"{target_text(status)} in {duration_name(status.spec.window_seconds)}"),
            Text(type_text(status)),
            Text(_exhaustion(status), justify="right"),
            burn_rates_text(status),
        ),
    )


def _status_cell(status: SLOStatus, styles: dict[str, Style]) -> Text:
    found = concern(status)
    if found is not None:
        sign = "▲ " if found.severity == "page" else ""
        return Text(f"{sign}{found.word}", style=styles[found.severity])
    if status.meeting is None:
        return Text("no data", style=styles["muted"])
    return Text("ok", style=styles["ok"])


def budget_bar(remaining: float | None, styles: dict[str, Style]) -> Text:
    """The remaining error budget as a bar and a percentage; overspent reads so, in red.

    An overspent budget has no share left to draw: the bar says OVERSPENT instead, so it never
    passes for an empty (just exhausted) one, and the percentage below zero follows.
    """
    if remaining is None or not math.isfinite(remaining):
        return Text.assemble((BUDGET_EMPTY * BUDGET_BAR_WIDTH, styles["muted"]),
                             f" {format_budget(remaining)}")
    if remaining < 0:
        return Text.assemble((OVERSPENT_BAR, styles["overspent"]), " ",
                             (budget_percent(remaining), styles["page"]))
    filled = round(min(remaining, 1.0) * BUDGET_BAR_WIDTH)
    style = styles["budget"] if filled else styles["page"]
    return Text.assemble((BUDGET_FULL * filled, style),
                         (BUDGET_EMPTY * (BUDGET_BAR_WIDTH - filled), styles["muted"]),
                         f" {format_budget(remaining)}")


def _exhaustion(status: SLOStatus) -> str:
    """When the budget runs out at the current burn rate: already, in a while, never while
    nothing burns, or n/a without data."""
    if status.exhausted:
        return "exhausted"
    if status.time_to_exhaustion_seconds is None and status.error_budget_remaining is not None:
        return "not burning"
    return format_duration(status.time_to_exhaustion_seconds)


def _detail(status: SLOStatus, styles: dict[str, Style]) -> Text:
    """The selected SLO: what it promises, how it stands, every burn rate and firing alert."""
    spec = status.spec
    name = safe_text(spec.name)
    name.stylize_before(styles["heading"])
    detail = Text.assemble(
        name,
        f" · {type_text(status)} · target {target_text(status)}",
        f" over {duration_name(spec.window_seconds)}",
    )
    detail.append(f"\ncompliance {format_fraction(status.compliance)}"
                  f" ({format_count(status.good)} good of {format_count(status.total)})"
                  f" · SLI {format_fraction(status.sli)}"
                  f" · budget {format_budget(status.error_budget_remaining)}")
    if not status.exhausted:
        detail.append(f" · exhausted in {_exhaustion(status)}")
    detail.append_text(Text.assemble("\nburn rate: ", burn_rates_text(status)))
    if not status.alerts:
        detail.append("\nno alert firing")
    for alert in sorted(status.alerts, key=lambda alert: alert.severity != "page"):
        detail.append_text(Text.assemble("\n", _alert(alert, styles)))
    detail.append(f"\n{_breach_count(status)}")
    return detail


def _breach_count(status: SLOStatus) -> str:
    """How many breaches the window holds, how long they lasted, and how many the table leaves
    out: the status lists only the newest (a flapping SLO breaches every other minute). A status
    made without the counts still counts the breaches it lists."""
    breaches = status.breaches
    count = max(status.breach_count, len(breaches))
    if not count:
        return "breaches: none in the window"
    ongoing = sum(breach.end is None for breach in breaches)
    line = f"breaches: {format_count(count)}" + (f" ({ongoing} ongoing)" if ongoing else "")
    line += (f" · {format_duration(status.breached_seconds)} in all,"
             f" longest {format_duration(status.longest_breach_seconds)}")
    listed = min(len(breaches), SHOWN_BREACHES)
    if count > listed:
        line += (f"\nthe newest {format_count(listed)} below,"
                 f" and {format_count(count - listed)} more")
    return line


def _alert(alert: SLOAlert, styles: dict[str, Style]) -> Text:
    """`▲ PAGE burn rate: <summary>` or `TICKET no data: <summary>`; the engine's summary
    names the windows, their burn rates and the tier's limit."""
    sign = "▲ " if alert.severity == "page" else ""
    kind = "no data" if alert.name == "slo_no_data" else "burn rate"
    return Text.assemble((f"{sign}{alert.severity.upper()}", styles[alert.severity]),
                         f" {kind}: ", safe_text(alert.summary))


def _breach_row(key: str, breach: Breach, styles: dict[str, Style]) -> KeyedRow:
    if breach.end is None:
        end = Text("ongoing", style=styles["ticket"])
    else:
        end = Text(format_datetime_utc(breach.end))
    return KeyedRow(
        key,
        (
            Text(format_datetime_utc(breach.start)),
            end,
            Text(format_duration(breach.duration_seconds), justify="right"),
        ),
    )


def _least_budget_first(slo: SLOFigure) -> tuple[int, float, str]:
    remaining = slo.budget_remaining
    if remaining is None or math.isnan(remaining):
        return 1, 0.0, slo.slo
    return 0, remaining, slo.slo


def _remote_summary(model: ModelSnapshot, slos: list[SLOFigure]) -> Text:
    """`3 SLOs · 1 exhausted · as exported by target host-1`."""
    if not slos:
        return Text.assemble(remote_source(model), " exports no SLO figures for this model")
    exhausted = sum(slo.budget_remaining is not None and slo.budget_remaining <= 0
                    for slo in slos)
    counted = f"{len(slos)} SLO{'s' if len(slos) != 1 else ''}"
    if exhausted:
        counted += f" · {exhausted} exhausted"
    return Text.assemble(f"{counted} · ", remote_origin(model))


def firing_alerts_text(firing: Mapping[tuple[str, str], float],
                       styles: dict[str, Style]) -> Text:
    """`firing: CRIT HighErrorRate · WARN DriftHigh`, worst first, or that none fires."""
    alerts = sorted(((rule, severity) for (rule, severity), count in firing.items()
                     if count > 0), key=lambda alert: (severity_rank(alert[1]), alert[0]))
    if not alerts:
        return Text("no alert firing (as exported)")
    parts = []
    for rule, severity in alerts:
        word = severity_word(severity)
        word.stylize(styles["page"] if severity == "critical" else styles["ticket"])
        parts.append(Text.assemble(word, " ", safe_text(rule)))
    return Text.assemble("firing: ", Text(" · ").join(parts))


def _remote_row(key: str, slo: SLOFigure, styles: dict[str, Style]) -> KeyedRow:
    return KeyedRow(
        key,
        (
            safe_text(slo.slo),
            budget_bar(slo.budget_remaining, styles),
            Text(format_fraction(slo.compliance), justify="right"),
            burn_rates_by_window(slo.burn_rates),
        ),
    )


def burn_rates_by_window(rates: Mapping[str, float]) -> Text:
    """`5m 0.40  1h 1.20  6h 0.90`: shortest window first (names it cannot read, after)."""
    def order(window: str) -> tuple[float, str]:
        match = _WINDOW.fullmatch(window)
        seconds = float(match[1]) * _WINDOW_SECONDS[match[2]] if match else math.inf
        return seconds, window

    return Text("  ").join(
        Text.assemble(safe_text(window), f" {format_burn_rate(rates[window])}")
        for window in sorted(rates, key=order))
