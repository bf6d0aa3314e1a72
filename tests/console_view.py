"""Reading what the console shows, for Pilot tests: the screen's text and its widgets."""

from __future__ import annotations

from typing import Any, TypeVar

from textual.app import App
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget

from neural_tui.widgets.keyed_table import KeyedTable
from neural_tui.widgets.model_panel import ModelPanel

ScreenT = TypeVar("ScreenT", bound=Screen[Any])


def screen_lines(app: App[Any]) -> list[str]:
    """What the terminal would show, one string per row (the compositor's own output)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App[Any]) -> str:
    return "\n".join(screen_lines(app))


def rendered(app: App[Any], widget: Widget) -> str:
    """The rows of the screen that `widget` covers, cropped to it."""
    region = widget.region
    rows = screen_lines(app)[region.y : region.bottom]
    return "\n".join(row[region.x : region.right] for row in rows)


def panels(app: App[Any]) -> list[ModelPanel]:
    return list(app.screen.query(ModelPanel))


def panel_named(app: App[Any], name: str) -> ModelPanel:
    return next(panel for panel in panels(app) if panel.uid == name)


def table_keys(app: App[Any]) -> list[str]:
    """The row keys of the screen's table, top to bottom."""
    table = app.screen.query_one(KeyedTable)
    return [str(table.coordinate_to_cell_key((row, 0)).row_key.value)
            for row in range(table.row_count)]


async def open_screen(pilot: Pilot[Any], key: str, kind: type[ScreenT]) -> ScreenT:
    """Press `key` once the app has settled and return the screen it opened, which must be a
    `kind`."""
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def palette_prompts(pilot: Pilot[Any], query: str) -> list[str]:
    """Open the palette, type `query`, and read the prompts it lists."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*query)
    await pilot.pause(0.3)
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    options = palette.query_one("CommandList")
    return [str(options.get_option_at_index(index).prompt).split("\n")[0]
            for index in range(options.option_count)]
