"""A filter: a one-line input whose text narrows what is shown (the overview's panels, a
drill-down's features) as it is typed."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Input

from neural_tui import keymap

MAX_FILTER_CHARS = 200
"""Longer than any model name or source worth typing; the input takes no more."""


class ModelFilter(Input):
    """Text to match against model names and sources; `escape` empties it and posts
    `ModelFilter.Cleared`, which hands the keys back to the panels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear", "Clear filter", id=keymap.CLEAR_FILTER),
    ]

    class Cleared(Message):
        """The user emptied the filter and left it."""

    def __init__(self, *, placeholder: str = "filter by model name or source (esc clears)",
                 id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, max_length=MAX_FILTER_CHARS, id=id)

    def action_clear(self) -> None:
        self.value = ""
        self.post_message(self.Cleared())
