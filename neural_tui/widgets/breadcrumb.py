"""Where the user is (Overview, fraud-detector 1.2, Drift, feature amount, joined by
`SEPARATOR`), and how the screen's table is sorted and filtered."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Label

from neural_tui.app.formatting import short_name
from neural_tui.safe_text import safe_text

SEPARATOR = " \u203a "
"""A single right-pointing angle quotation mark between places."""


class Breadcrumb(Label):
    """One line of places, outermost first; names from logs are shown made safe and short, so
    a long one leaves the view and the sort after it on the line."""

    def show(self, places: Sequence[str], arrangement: str = "") -> None:
        """`places` outermost first; `arrangement` (the table's sort and filter), if any,
        after them."""
        text = Text(SEPARATOR).join(short_name(place) for place in places)
        if arrangement:
            text.append_text(Text.assemble("  (", safe_text(arrangement), ")"))
        self.update(text)
