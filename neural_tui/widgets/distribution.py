"""Reference and current shares of one feature's bins, drawn as text bars side by side."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from neural_tui.safe_text import safe_text

EIGHTHS = " ▏▎▍▌▋▊▉"
"""Partial blocks, so a bar's length resolves to an eighth of a cell."""
FULL_BLOCK = "█"
BIN_LABEL_WIDTH = 16
SHARE_WIDTH = 6


class ShareBar:
    """A horizontal bar as long as `fraction` of the width it is given."""

    def __init__(self, fraction: float, style: Style) -> None:
        self.fraction = min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0
        self.style = style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        eighths = round(self.fraction * options.max_width * 8)
        full, partial = divmod(eighths, 8)
        bar = FULL_BLOCK * full + (EIGHTHS[partial] if partial else "")
        yield Text(bar, style=self.style, no_wrap=True, end="")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


class Distribution(Widget):
    """One row per bin: its label, the reference share and bar, the current share and bar.

    Both bars of every row share one scale (the largest share of either side), so their
    lengths compare directly. Bin labels are category names from logs, hence `safe_text`.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "distribution--reference",
        "distribution--current",
        "distribution--heading",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._bins: tuple[str, ...] = ()
        self._reference: tuple[float, ...] = ()
        self._current: tuple[float, ...] = ()

    def show(
        self, bins: Sequence[str], reference: Sequence[float], current: Sequence[float]
    ) -> None:
        self._bins = tuple(bins)
        self._reference = tuple(reference)
        self._current = tuple(current)
        self.refresh(layout=True)

    def render(self) -> RenderableType:
        if not self._bins:
            return Text("no distribution for this feature")
        reference_style = self.get_component_rich_style("distribution--reference")
        current_style = self.get_component_rich_style("distribution--current")
        heading_style = self.get_component_rich_style("distribution--heading")
        grid = Table.grid(expand=True, padding=(0, 1))
        grid.add_column(max_width=BIN_LABEL_WIDTH, no_wrap=True, overflow="ellipsis")
        grid.add_column(width=SHARE_WIDTH, justify="right")
        grid.add_column(ratio=1)
        grid.add_column(width=SHARE_WIDTH, justify="right")
        grid.add_column(ratio=1)
        grid.add_row(
            Text("bin", style=heading_style),
            Text("ref", style=heading_style),
            Text(""),
            Text("cur", style=heading_style),
            Text(""),
        )
        current = self._current or (math.nan,) * len(self._bins)
        shares = [s for s in (*self._reference, *current) if math.isfinite(s)]
        scale = max(shares, default=0.0) or 1.0
        for label, ref, cur in zip(self._bins, self._reference, current, strict=False):
            grid.add_row(
                safe_text(label),
                _share(ref),
                ShareBar(ref / scale, reference_style),
                _share(cur),
                ShareBar(cur / scale, current_style),
            )
        return grid


def _share(share: float) -> Text:
    return Text("—" if not math.isfinite(share) else f"{share * 100:.1f}%", no_wrap=True)
