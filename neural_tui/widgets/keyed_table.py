"""A DataTable whose rows are keyed and brought up to date in place, in a given order, with the
vim keys, sorting by any column and a text filter on the first column."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable

from neural_tui import keymap

SortValue = float | int | str | bool | None
"""What a column sorts by: numbers as numbers, text by its letters; None (n/a) sorts last."""


@dataclass(frozen=True, slots=True)
class KeyedRow:
    """One row: its key (e.g. a feature name), its cells in column order, and the values the
    cells show, by which a column sorts (default: the cells' text)."""

    key: str
    cells: tuple[Text, ...]
    values: tuple[SortValue, ...] = ()

    def value(self, column: int) -> SortValue:
        """What column `column` sorts by."""
        if self.values:
            return self.values[column]
        return self.cells[column].plain


@dataclass(frozen=True, slots=True)
class _RankedCell:
    """A first cell that carries its row's position, because `DataTable.sort` sees only cells."""

    text: Text
    rank: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)


def _missing(value: SortValue) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _sort_key(value: SortValue) -> tuple[int, float, str]:
    """Numbers before text, each in its own order, so a column that mixes them stays sane."""
    if isinstance(value, int | float):
        try:
            return 0, float(value), ""
        except OverflowError:  # an int beyond any float
            return 0, math.inf if value > 0 else -math.inf, ""
    return 1, 0.0, str(value).casefold()


def ordered_rows(rows: Sequence[KeyedRow], column: int | None, reverse: bool) -> list[KeyedRow]:
    """`rows` by `column`'s values (None: in the given order), reversed if asked; rows without
    a value (None, NaN) come last either way, and ties keep the given order."""
    if column is None:
        return list(reversed(rows)) if reverse else list(rows)
    present = [row for row in rows if not _missing(row.value(column))]
    missing = [row for row in rows if _missing(row.value(column))]
    present.sort(key=lambda row: _sort_key(row.value(column)), reverse=reverse)
    return present + missing


class KeyedTable(DataTable[Text | _RankedCell]):
    """Rows follow `sync`: updated by key, added, dropped and reordered, never rebuilt.

    Rebuilding a table each tick loses the cursor and the scroll position and makes the screen
    flicker; here the cursor stays on the same key when the order changes. Cells are `Text`,
    never `str`, which DataTable would read as markup. The user's sort (`o`, `i`, a click on a
    header) and filter (`filter_text`) hold across syncs: each sync orders the new rows by them.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id=keymap.TABLE_DOWN),
        Binding("k", "cursor_up", "Up", show=False, id=keymap.TABLE_UP),
        Binding("g", "scroll_top", "First row", show=False, id=keymap.TABLE_TOP),
        Binding("G", "scroll_bottom", "Last row", show=False, id=keymap.TABLE_BOTTOM),
        Binding("o", "sort_next", "Sort by next column", show=False, id=keymap.TABLE_SORT),
        Binding("i", "reverse_sort", "Reverse sort", show=False,
                id=keymap.TABLE_REVERSE_SORT),
    ]

    class Arranged(Message):
        """The sort or the filter changed (a breadcrumb says them)."""

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._column_spec = tuple(columns)
        self._rows: tuple[KeyedRow, ...] = ()
        self._wanted_key: str | None = None
        self.sort_column: int | None = None
        """The column the user sorts by; None: the screen's own order."""
        self.sort_reverse = False
        self.filter_text = ""
        """Only rows whose first cell holds this text (any case) are shown."""

    def on_mount(self) -> None:
        for label, key in self._column_spec:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if there is a row."""
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value

    @property
    def arrangement(self) -> str:
        """`sorted by p-value ↓ · filter "amo"`, or "" in the screen's order, unfiltered."""
        parts = []
        if self.sort_column is not None:
            arrow = "↓" if self.sort_reverse else "↑"
            parts.append(f"sorted by {self._column_spec[self.sort_column][0]} {arrow}")
        elif self.sort_reverse:
            parts.append("reversed")
        if self.filter_text:
            parts.append(f"filter {self.filter_text!r}")
        return " · ".join(parts)

    def select_key(self, key: str) -> None:
        """Put the cursor on `key`'s row, now or as soon as a sync brings it."""
        if key in self.rows:
            self.move_cursor(row=self.get_row_index(key))
            self._wanted_key = None
        else:
            self._wanted_key = key

    def sync(self, rows: Sequence[KeyedRow]) -> None:
        """Make the table show `rows`, filtered and in the user's sort, else in this order,
        keeping the cursor on its key."""
        self._rows = tuple(rows)
        self._arrange()

    def _arrange(self) -> None:
        selected = self._wanted_key or self.selected_key
        needle = self.filter_text.casefold()
        shown = ordered_rows([row for row in self._rows if needle in row.cells[0].plain.casefold()],
                             self.sort_column, self.sort_reverse)
        wanted = {row.key for row in shown}
        for stale in [key.value for key in self.rows if key.value not in wanted]:
            if stale is not None:
                self.remove_row(stale)
        column_keys = [key for _, key in self._column_spec]
        for rank, row in enumerate(shown):
            cells: list[Text | _RankedCell] = [_RankedCell(row.cells[0], rank), *row.cells[1:]]
            if row.key in self.rows:
                for column_key, cell in zip(column_keys, cells, strict=True):
                    self.update_cell(row.key, column_key, cell, update_width=True)
            else:
                self.add_row(*cells, key=row.key)
        self.sort(column_keys[0], key=lambda cell: cell.rank)
        if selected in wanted:
            self.move_cursor(row=self.get_row_index(selected))
            if selected == self._wanted_key:
                self._wanted_key = None

    def _rearrange(self) -> None:
        self._arrange()
        self.post_message(self.Arranged())

    def set_filter(self, text: str) -> None:
        """Show only the rows whose first cell (a feature's name) holds `text`."""
        self.filter_text = text
        self._rearrange()

    def sort_by(self, column: int) -> None:
        """Sort by `column`; sorting again by the same column reverses it."""
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self._rearrange()

    def action_sort_next(self) -> None:
        """The next column, ascending; after the last, the screen's own order again."""
        current = -1 if self.sort_column is None else self.sort_column
        following = current + 1
        self.sort_column = following if following < len(self._column_spec) else None
        self.sort_reverse = False
        self._rearrange()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._rearrange()

    def on_data_table_header_selected(self, message: DataTable.HeaderSelected) -> None:
        message.stop()
        self.sort_by(message.column_index)
