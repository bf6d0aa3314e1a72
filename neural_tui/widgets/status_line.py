"""The line under the panels: what was ingested, what was skipped, paused or not, the time
range the figures cover, and when;
below it, the fleet's targets up and down and any source that cannot read."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalGroup, VerticalGroup
from textual.widgets import Label

from neural_tui.app.fleet_groups import fleet_status
from neural_tui.app.formatting import (
    format_breakdown,
    format_clock_utc,
    format_count,
    format_range,
)
from neural_tui.runtime.snapshot import Snapshot
from neural_tui.safe_text import safe_text

PAUSED_CLASS = "-paused"
HAS_MESSAGE_CLASS = "-has-message"
HAS_FLEET_CLASS = "-has-fleet"
NO_LOCAL_STORAGE = "no local storage"


class StatusLine(VerticalGroup):
    """Ingest counts and pipeline state; below them, when there is one, the runtime's last
    message (a skipped line, a refused model, or a source or the analysis restarting after a
    crash)."""

    def compose(self) -> ComposeResult:
        with HorizontalGroup(id="status-counts"):
            yield Label(id="ingest-counts")
            yield Label("PAUSED", id="paused-badge")
            yield Label(id="time-range")
            yield Label("READ-ONLY", id="readonly-badge")
            yield Label(id="snapshot-time")
        yield Label(id="fleet-status")
        yield Label(id="last-message")

    def show(self, snapshot: Snapshot, *, local: bool = True) -> None:
        """`local`: whether the console reads local storage (else no ingest counts)."""
        ingest = snapshot.ingest
        self.query_one("#ingest-counts", Label).update(
            _ingest_counts(snapshot) if local else Text(NO_LOCAL_STORAGE))
        fleet = fleet_status(snapshot)
        self.query_one("#fleet-status", Label).update(fleet)
        self.set_class(bool(fleet.plain), HAS_FLEET_CLASS)
        self.query_one("#snapshot-time", Label).update(
            format_clock_utc(snapshot.generated_at) if snapshot.generated_at else "no snapshot yet"
        )
        last_message = ingest.last_messages[-1] if ingest.last_messages else ""
        self.query_one("#last-message", Label).update(safe_text(last_message))
        self.query_one("#time-range", Label).update(format_range(snapshot.time_range_seconds))
        self.set_class(snapshot.paused, PAUSED_CLASS)
        self.set_class(bool(last_message), HAS_MESSAGE_CLASS)


def _ingest_counts(snapshot: Snapshot) -> Text:
    """Records read and lines skipped, with the skip reasons by frequency; then the lines kept
    with a value dropped or replaced (`KEPT_LINE_REASONS`), which are no skipped lines."""
    ingest = snapshot.ingest
    counts = Text(f"{format_count(ingest.records_total)} records · ")
    skipped = ingest.skipped_lines
    counts.append(f"{format_count(sum(skipped.values()))} skipped")
    counts.append_text(format_breakdown(skipped))
    altered = ingest.kept_lines
    if altered:
        counts.append(f" · {format_count(sum(altered.values()))} kept altered")
        counts.append_text(format_breakdown(altered))
    return counts
