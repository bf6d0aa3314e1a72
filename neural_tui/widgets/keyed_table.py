"""A DataTable whose rows are keyed and brought up to date in place, in a given order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable


@dataclass(frozen=True, slots=True)
class KeyedRow:
    """One row: its key (e.g. a feature name) and its cells, in column order."""

    key: str
    cells: tuple[Text, ...]


@dataclass(frozen=True, slots=True)
class _RankedCell:
    """A first cell that carries its row's position, because `DataTable.sort` sees only cells."""

    text: Text
    rank: int

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.text)


class KeyedTable(DataTable[Text | _RankedCell]):
    """Rows follow `sync`: updated by key, added, dropped and reordered, never rebuilt.

    Rebuilding a table each tick loses the cursor and the scroll position and makes the screen
    flicker; here the cursor stays on the same key when the order changes. Cells are `Text`,
    never `str`, which DataTable would read as markup.
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._column_spec = tuple(columns)

    def on_mount(self) -> None:
        for label, key in self._column_spec:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor, if there is a row."""
        if self.row_count == 0:
            return None
        return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value

    def sync(self, rows: Sequence[KeyedRow]) -> None:
        """Make the table show `rows` in this order, keeping the cursor on its key."""
        selected = self.selected_key
        wanted = {row.key for row in rows}
        for stale in [key.value for key in self.rows if key.value not in wanted]:
            if stale is not None:
                self.remove_row(stale)
        column_keys = [key for _, key in self._column_spec]
        for rank, row in enumerate(rows):
            cells: list[Text | _RankedCell] = [_RankedCell(row.cells[0], rank), *row.cells[1:]]
            if row.key in self.rows:
                for column_key, cell in zip(column_keys, cells, strict=True):
                    self.update_cell(row.key, column_key, cell, update_width=True)
            else:
                self.add_row(*cells, key=row.key)
        self.sort(column_keys[0], key=lambda cell: cell.rank)
        if selected in wanted:
            self.move_cursor(row=self.get_row_index(selected))
