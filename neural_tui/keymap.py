"""The console's binding ids: the names a user's `[keys]` table rebinds.

Every key binding of the console carries one of these ids, and Textual's keymap replaces the
keys of a binding by its id. They live outside `neural_tui.app` so that the config checks a
user's `[keys]` at load without importing Textual (headless never does). An id shared by two
bindings (drift, quality, SLOs and latency on the overview and on a drill-down; clearing the
filter from its input and from the overview; a table's top and bottom and the overview's first
and last model) rebinds both.
"""

from __future__ import annotations

QUIT = "app.quit"
HELP = "app.help"
PAUSE = "app.pause"
TIME_RANGE = "app.time_range"
NEXT_MODEL = "overview.next_model"
PREVIOUS_MODEL = "overview.previous_model"
OPEN_MODEL = "overview.open_model"
FILTER = "overview.filter"
CLEAR_FILTER = "filter.clear"
DRIFT = "model.drift"
QUALITY = "model.quality"
SLO = "model.slo"
LATENCY = "model.latency"
BACK = "drill_down.back"
CLOSE_HELP = "help.close"
ALERTS = "app.alerts"
ACKNOWLEDGE = "alerts.acknowledge"
SILENCE = "alerts.silence"
UNSILENCE = "alerts.unsilence"
CANCEL_SILENCE = "silence.cancel"
TABLE_DOWN = "table.down"
TABLE_UP = "table.up"
TABLE_TOP = "table.top"
TABLE_BOTTOM = "table.bottom"
TABLE_SORT = "table.sort"
TABLE_REVERSE_SORT = "table.reverse_sort"
TABLE_FILTER = "table.filter"
REPLAY = "overview.replay"
REPLAY_STEP = "replay.step"
REPLAY_FASTER = "replay.faster"
REPLAY_SLOWER = "replay.slower"
EXPORT = "app.export"

BINDING_IDS: tuple[str, ...] = (
    QUIT, HELP, PAUSE, TIME_RANGE, NEXT_MODEL, PREVIOUS_MODEL, OPEN_MODEL, FILTER, CLEAR_FILTER,
    DRIFT, QUALITY, SLO, LATENCY, BACK, CLOSE_HELP, ALERTS, ACKNOWLEDGE, SILENCE, UNSILENCE,
    CANCEL_SILENCE, TABLE_DOWN, TABLE_UP, TABLE_TOP, TABLE_BOTTOM, TABLE_SORT, TABLE_REVERSE_SORT,
    TABLE_FILTER, REPLAY, REPLAY_STEP, REPLAY_FASTER, REPLAY_SLOWER, EXPORT,
)
"""Every id a `[keys]` table may name."""
