"""The small dialog that silences an alert: which alerts it mutes, for how long, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalGroup
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from neural_tui import keymap
from neural_tui.alerts.silencing import (
    SilenceRequestError,
    silence_author,
    silence_comment,
    silence_seconds,
)
from neural_tui.app.alert_formatting import format_labels

DEFAULT_DURATION = "2h"


@dataclass(frozen=True, slots=True)
class SilenceRequest:
    """What the user asked for, checked: the silence is made by `AlertCommands.silence`."""

    matchers: Mapping[str, str]
    seconds: int
    duration_text: str
    comment: str
    author: str


class SilenceScreen(ModalScreen[SilenceRequest | None]):
    """Asks for a duration and a comment; enter silences, escape cancels.

    A wrong value keeps the dialog open and says what is wrong under the fields.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.CANCEL_SILENCE),
    ]

    def __init__(self, matchers: Mapping[str, str], *, author: str) -> None:
        super().__init__()
        self.matchers = dict(matchers)
        self._author = author

    def compose(self) -> ComposeResult:
        with VerticalGroup(id="silence-dialog"):
            yield Label("Silence", id="silence-title")
            yield Label(Text.assemble("alerts matching ", format_labels(self.matchers)),
                        id="silence-matchers")
            yield Label("for (e.g. 30m, 2h, 1d)", classes="silence-field")
            yield Input(DEFAULT_DURATION, id="silence-duration", compact=True)
            yield Label("comment (why)", classes="silence-field")
            yield Input(id="silence-comment", max_length=1_000, compact=True)
            yield Label("author", classes="silence-field")
            yield Input(self._author, id="silence-author", max_length=200, compact=True)
            yield Label(id="silence-error")
            yield Label("enter silences · esc cancels", id="silence-hint")

    def on_mount(self) -> None:
        self.query_one("#silence-comment", Input).focus()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        duration = self.query_one("#silence-duration", Input).value
        try:
            request = SilenceRequest(
                matchers=self.matchers,
                seconds=silence_seconds(duration),
                duration_text=duration.strip(),
                comment=silence_comment(self.query_one("#silence-comment", Input).value),
                author=silence_author(self.query_one("#silence-author", Input).value),
            )
        except SilenceRequestError as exc:
            self.query_one("#silence-error", Label).update(Text(str(exc)))
            return
        self.dismiss(request)

    def action_cancel(self) -> None:
        self.dismiss(None)
