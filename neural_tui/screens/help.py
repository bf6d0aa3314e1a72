"""The key help: every key that acts where the user pressed `?`, read from the live bindings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import ActiveBinding, Binding, BindingType
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label

from neural_tui import keymap


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """One action and every key that triggers it."""

    keys: str
    description: str


def describe_bindings(app: App[Any], bindings: Mapping[str, ActiveBinding]) -> list[KeyHelp]:
    """One row per action, app-wide keys first, then the screen's, then the focused widget's.

    `bindings` is a screen's `active_bindings`, so the list is exactly what the keys do there,
    including keys that a focused widget takes over.
    """
    grouped: dict[tuple[int, str], tuple[int, list[str], str]] = {}
    for active in bindings.values():
        binding = active.binding
        if binding.system:
            continue
        rank = 0 if active.node is app else 1 if isinstance(active.node, Screen) else 2
        _, keys, _ = grouped.setdefault(
            (id(active.node), binding.action), (rank, [], _description(binding))
        )
        keys.append(app.get_key_display(binding))
    rows = sorted(grouped.values(), key=lambda row: row[0])
    return [KeyHelp(" ".join(keys), description) for _, keys, description in rows]


def _description(binding: Binding) -> str:
    """Our bindings' tooltips are the longer words their footer labels are short for (Textual's
    own, longer than the help's column, are left to the footer)."""
    if binding.tooltip and binding.id in keymap.BINDING_IDS:
        return binding.tooltip
    return binding.description or binding.action


class HelpScreen(ModalScreen[None]):
    """A modal over the screen it documents; `escape` or `?` closes it, arrows scroll it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "dismiss", "Close help", id=keymap.CLOSE_HELP),
    ]

    def __init__(self, keys: list[KeyHelp]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Label("Keys", id="help-title")
            with Grid(id="help-keys"):
                for key in self._keys:
                    yield Label(Text(key.keys), classes="help-key")
                    yield Label(Text(key.description), classes="help-description")
            yield Label("esc or ? closes this help", id="help-hint")
