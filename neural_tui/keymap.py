"""The console's binding ids: the names a user's `[keys]` table rebinds.

Every key binding of the console carries one of these ids, and Textual's keymap replaces the
keys of a binding by its id. They live outside `neural_tui.app` so that the config checks a
user's `[keys]` at load without importing Textual (headless never does). An id shared by two
bindings (drift, quality and SLOs on the overview and on a drill-down; clearing the filter
from its input and from the overview) rebinds both.
"""

from __future__ import annotations

QUIT = "app.quit"
HELP = "app.help"
PAUSE = "app.pause"
NEXT_MODEL = "overview.next_model"
PREVIOUS_MODEL = "overview.previous_model"
OPEN_MODEL = "overview.open_model"
FILTER = "overview.filter"
CLEAR_FILTER = "filter.clear"
DRIFT = "model.drift"
QUALITY = "model.quality"
SLO = "model.slo"
BACK = "drill_down.back"
CLOSE_HELP = "help.close"
ALERTS = "app.alerts"
ACKNOWLEDGE = "alerts.acknowledge"
SILENCE = "alerts.silence"
UNSILENCE = "alerts.unsilence"
CANCEL_SILENCE = "silence.cancel"
EXPORT = "app.export"

BINDING_IDS: tuple[str, ...] = (
    QUIT, HELP, PAUSE, NEXT_MODEL, PREVIOUS_MODEL, OPEN_MODEL, FILTER, CLEAR_FILTER, DRIFT,
    QUALITY, SLO, BACK, CLOSE_HELP, ALERTS, ACKNOWLEDGE, SILENCE, UNSILENCE, CANCEL_SILENCE,
    EXPORT,
)
"""Every id a `[keys]` table may name."""
