"""The console's own commands in Textual's command palette (ctrl+p).

Model names come from logs and remote endpoints: a hit's prompt is built as literal `Content`
(the palette reads a plain string as markup) with control characters replaced, and its help
never holds a name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from neural_tui.safe_text import plain
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.widgets.model_panel import ModelPanel

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

IN_FOCUS_HELP = "Error budgets, burn rates and breaches of the model in focus"
OTHER_HELP = "Error budgets, burn rates and breaches of this model"


def model_in_focus(screen: Screen[object]) -> str | None:
    """The `uid` of the model a key would act on: a drill-down's own, or the selected
    overview panel's."""
    if isinstance(screen, DrillDownScreen):
        return screen.uid
    focused = screen.focused
    return focused.uid if isinstance(focused, ModelPanel) else None


class SLOCommands(Provider):
    """`SLOs: <model>` for every model of the latest snapshot (a remote one as `name @
    source`), the model in focus first."""

    def _models(self) -> list[str]:
        names = [model.uid for model in cast("NeuralTuiApp", self.app).snapshot.models]
        focused = model_in_focus(self.screen)
        if focused in names:
            names.remove(focused)
            names.insert(0, focused)
        return names

    def _help(self, name: str) -> str:
        return IN_FOCUS_HELP if name == model_in_focus(self.screen) else OTHER_HELP

    def _open(self, name: str) -> Callable[[], None]:
        return partial(cast("NeuralTuiApp", self.app).open_drill_down, name, "slo")

    async def discover(self) -> Hits:
        for name in self._models():
            label = command_label(name)
            yield DiscoveryHit(Content(label), self._open(name), text=label, help=self._help(name))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._models():
            label = command_label(name)
            score, offsets = matcher.fuzzy_search.match(matcher.query, label)
            if score > 0:
                prompt = Content(label)
                for offset in offsets:
                    prompt = prompt.stylize(matcher.match_style, offset, offset + 1)
                yield Hit(score, prompt, self._open(name), text=label, help=self._help(name))


def command_label(uid: str) -> str:
    """The command's text: the model's uid with every control character made visible."""
    return f"SLOs: {plain(uid)}"
