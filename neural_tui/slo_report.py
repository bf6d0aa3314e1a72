"""`neural-tui slo`: every configured SLO of every model it applies to, as a table or JSON.

The figures are the runtime's (`ModelSnapshot.slos`, judged by `engines/slo.py` as of the newest
record in storage); this module only lays them out, and says plainly which configured SLO has no
figures yet and why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_tui.config import Settings, SLOSection
from neural_tui.engines.slo import SLOSpec, SLOStatus, burn_tiers, duration_name
from neural_tui.reports import (
    EXIT_OK,
    finish,
    load_runtime,
    report_console,
    storage_warnings,
    unknown_model,
)
from neural_tui.runtime.engine_settings import slo_specs
from neural_tui.runtime.snapshot import ModelSnapshot, Snapshot
from neural_tui.safe_text import safe_text

NO_SLO = "no SLO configured: add [[slo]] tables to the config (see config.example.toml)"
SHOWN_BREACHES = 5
"""Breaches listed under the table per SLO and model, newest first (`--json` has the newest
hundred the engine keeps, with the count and total duration of them all)."""


@dataclass(frozen=True, slots=True)
class SLORow:
    """One configured SLO for one model: its status, or why it has none yet."""

    spec: SLOSpec
    model: str | None
    version: str | None
    status: SLOStatus | None
    waiting: str | None


def print_slo(settings: Settings, *, model: str | None, as_json: bool) -> int:
    snapshot = load_runtime(settings, show_progress=not as_json).build_snapshot()
    rows = slo_rows(settings.slo, snapshot, model)
    warnings = storage_warnings(settings, snapshot.ingest.records_total)
    note = NO_SLO if not settings.slo else None if rows else f"no SLO applies to model {model!r}"
    if as_json:
        print(json.dumps({
            "storage": str(settings.storage.path),
            "slos": [row_entry(row) for row in rows],
            "note": note,
            "warnings": warnings,
        }, allow_nan=False))
        return finish(EXIT_OK, warnings)
    console = report_console()
    if note is not None:
        console.print(safe_text(note))
    else:
        _print_rows(console, settings, rows)
    return finish(EXIT_OK, warnings)


def slo_rows(
    sections: Iterable[SLOSection], snapshot: Snapshot, model: str | None
) -> list[SLORow]:
    """Each SLO (in config order) for each model it applies to (by name), limited to `model`.

    An SLO naming a model without records, or one for every model while storage has none, is a
    row that waits. `model` must name a model in storage or one an SLO names (else exit 2).
    """
    sections = tuple(sections)
    in_storage = sorted({m.name for m in snapshot.models})
    if model is not None and model not in in_storage and not any(
            s.model == model for s in sections):
        raise unknown_model(model, [*in_storage, *(s.model for s in sections if s.model)])
    rows: list[SLORow] = []
    for section in sections:
        spec = spec_of(section)
        names = [section.model] if section.model is not None else in_storage
        if model is not None:
            names = [model] if model in names or section.model is None else []
        if not names and section.model is None and model is None:
            rows.append(SLORow(spec, None, None, None, "no model has any record in storage"))
        for name in names:
            rows += _model_rows(spec, name, [m for m in snapshot.models if m.name == name])
    return rows


def _model_rows(spec: SLOSpec, name: str, models: list[ModelSnapshot]) -> list[SLORow]:
    if not models:
        return [SLORow(spec, name, None, None, f"no record of model {name!r} in storage yet")]
    rows = []
    for snapshot in models:
        status = next((s for s in snapshot.slos if s.spec.name == spec.name), None)
        rows.append(SLORow(status.spec if status is not None else spec, name, snapshot.version,
                           status, None if status is not None else "no figures yet"))
    return rows


def spec_of(section: SLOSection) -> SLOSpec:
    """A configured SLO as the engine states it (for the rows that have no status)."""
    (spec,) = slo_specs((section,), section.model or "")
    return spec


def row_entry(row: SLORow) -> dict[str, Any]:
    """One row of `slo --json`: every figure finite or null."""
    spec, status = row.spec, row.status
    entry: dict[str, Any] = {
        "name": spec.name,
        "type": spec.type,
        "model": row.model,
        "version": row.version,
        "target": _number(spec.target),
        "objective": _number(spec.objective),
        "window": duration_name(spec.window_seconds),
        "threshold_ms": _number(spec.threshold_ms),
        "min_rps": _number(spec.min_rps),
        "waiting": row.waiting,
    }
    if status is None:
        entry.update({"at": None, "good": None, "total": None, "sli": None, "compliance": None,
                      "error_budget_remaining": None, "burn_rates": {},
                      "time_to_exhaustion_seconds": None, "meeting": None, "exhausted": False,
                      "paging": False, "breach_count": 0, "breached_seconds": 0.0,
                      "longest_breach_seconds": 0.0, "breaches": [], "alerts": []})
        return entry
    entry.update({
        "at": _number(status.at),
        "good": status.good,
        "total": status.total,
        "sli": _number(status.sli),
        "compliance": _number(status.compliance),
        "error_budget_remaining": _number(status.error_budget_remaining),
        "burn_rates": {window: _number(rate) for window, rate in status.burn_rates.items()},
        "time_to_exhaustion_seconds": _number(status.time_to_exhaustion_seconds),
        "meeting": status.meeting,
        "exhausted": status.exhausted,
        "paging": status.paging,
        "breach_count": max(status.breach_count, len(status.breaches)),
        "breached_seconds": _number(status.breached_seconds),
        "longest_breach_seconds": _number(status.longest_breach_seconds),
        "breaches": [{"start": _number(b.start), "end": _number(b.end),
                      "duration_seconds": _number(b.duration_seconds)}
                     for b in status.breaches],
        "alerts": [{"name": a.name, "severity": a.severity, "labels": dict(a.labels),
                    "summary": a.summary, "long_burn_rate": _number(a.long_burn_rate),
                    "short_burn_rate": _number(a.short_burn_rate)}
                   for a in status.alerts],
    })
    return entry


def _number(value: float | None) -> float | None:
    """`value` for JSON: None when unset or not finite (JSON has no NaN or infinity)."""
    return None if value is None or not math.isfinite(value) else float(value)


def _print_rows(console: Console, settings: Settings, rows: list[SLORow]) -> None:
    title = safe_text(f"neural-tui slo — {settings.storage.path}")
    title.end = "\n"
    table = Table(title=title, title_justify="left")
    table.add_column("SLO", overflow="fold")
    table.add_column("model", overflow="fold")
    for column in ("type", "objective", "window", "SLI", "compliance", "budget left",
                   "burn rates", "exhausted in", "status"):
        table.add_column(column, justify="left" if column in ("type", "burn rates", "status")
                         else "right")
    for row in rows:
        table.add_row(safe_text(row.spec.name), safe_text(_model_label(row)), row.spec.type,
                      _percent(row.spec.objective), duration_name(row.spec.window_seconds),
                      *_figures(row))
    console.print(table)
    for row in rows:
        _print_details(console, row)


def _model_label(row: SLORow) -> str:
    if row.model is None:
        return "every model"
    return row.model if not row.version else f"{row.model} {row.version}"


def _figures(row: SLORow) -> tuple[str | Text, ...]:
    status = row.status
    if status is None:
        return ("—", "—", "—", "—", "—", Text("waiting", style="dim"))
    return (_percent(status.sli), _percent(status.compliance),
            _budget(status.error_budget_remaining), _burn_rates(status),
            _exhaustion(status), _verdict(status))


def _verdict(status: SLOStatus) -> Text:
    if status.paging:
        return Text("PAGE", style="bold red")
    if status.exhausted:
        return Text("EXHAUSTED", style="bold red")
    if status.alerts:
        return Text("ticket", style="yellow")
    return {True: Text("ok", style="green"), False: Text("not met", style="red"),
            None: Text("no data", style="dim")}[status.meeting]


def _print_details(console: Console, row: SLORow) -> None:
    """The row's waiting reason, alerts and newest breaches, one line each."""
    who = safe_text(f"{row.spec.name} on {_model_label(row)}", style="bold")
    if row.waiting is not None:
        console.print(Text.assemble(who, ": ", safe_text(row.waiting)))
    if row.status is None:
        return
    for alert in row.status.alerts:
        style = "bold red" if alert.severity == "page" else "yellow"
        console.print(Text.assemble(Text(alert.severity.upper(), style=style), " ", who, ": ",
                                    safe_text(alert.summary)))
    breaches = row.status.breaches
    for breach in reversed(breaches[-SHOWN_BREACHES:]):
        end = "ongoing" if breach.end is None else _when(breach.end)
        console.print(Text.assemble("breach ", who, f": {_when(breach.start)} → {end} "
                                    f"({_duration(breach.duration_seconds)})"))
    earlier = max(row.status.breach_count, len(breaches)) - min(len(breaches), SHOWN_BREACHES)
    if earlier > 0:
        console.print(Text.assemble(who, f": {earlier:,} earlier breaches (--json lists the "
                                    f"newest {len(breaches):,})"))


def _percent(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{100 * value:.6g}%"


def _budget(value: float | None) -> str | Text:
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{value:z.1%}"
    return Text(text, style="bold red") if value <= 0 else text


def _burn_rates(status: SLOStatus) -> str:
    """Each window's burn rate, shortest window first."""
    lengths = {name: seconds for tier in burn_tiers(status.spec.window_seconds)
               for name, seconds in ((tier.long_window, tier.long_seconds),
                                     (tier.short_window, tier.short_seconds))}
    ordered = sorted(status.burn_rates.items(), key=lambda item: lengths.get(item[0], 0))
    return ", ".join(f"{window} {_rate(rate)}" for window, rate in ordered) or "—"


def _rate(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _exhaustion(status: SLOStatus) -> str:
    if status.exhausted:
        return "exhausted"
    seconds = status.time_to_exhaustion_seconds
    return "—" if seconds is None or not math.isfinite(seconds) else _duration(seconds)


def _duration(seconds: float) -> str:
    """`seconds` to the minute (to the second under a minute), as a window is named."""
    whole = round(seconds)
    return duration_name(whole if whole < 60 else round(whole / 60) * 60)


def _when(at: float) -> str:
    try:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return "?"
