"""The console's own commands in Textual's command palette (ctrl+p).

Model names come from logs and remote endpoints: a hit's prompt is built as literal `Content`
(the palette reads a plain string as markup) with control characters replaced, and its help
never holds a name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from neural_tui.app.messages import DrillView
from neural_tui.safe_text import plain
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.widgets.model_panel import ModelPanel

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

def model_in_focus(screen: Screen[object]) -> str | None:
    """The `uid` of the model a key would act on: a drill-down's own, or the selected
    overview panel's."""
    if isinstance(screen, DrillDownScreen):
        return screen.uid
    focused = screen.focused
    return focused.uid if isinstance(focused, ModelPanel) else None


class ModelViewCommands(Provider):
    """`<PREFIX>: <model>` for every model of the latest snapshot (a remote one as `name @
    source`), the model in focus first; each opens the model's `VIEW`."""

    VIEW: ClassVar[DrillView]
    PREFIX: ClassVar[str]
    IN_FOCUS_HELP: ClassVar[str]
    OTHER_HELP: ClassVar[str]

    def _models(self) -> list[str]:
        names = [model.uid for model in cast("NeuralTuiApp", self.app).snapshot.models]
        focused = model_in_focus(self.screen)
        if focused in names:
            names.remove(focused)
            names.insert(0, focused)
        return names

    def _help(self, name: str) -> str:
        return self.IN_FOCUS_HELP if name == model_in_focus(self.screen) else self.OTHER_HELP

    def _open(self, name: str) -> Callable[[], None]:
        return partial(cast("NeuralTuiApp", self.app).open_drill_down, name, self.VIEW)

    async def discover(self) -> Hits:
        for name in self._models():
            label = command_label(self.PREFIX, name)
            yield DiscoveryHit(Content(label), self._open(name), text=label, help=self._help(name))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name in self._models():
            label = command_label(self.PREFIX, name)
            score, offsets = matcher.fuzzy_search.match(matcher.query, label)
            if score > 0:
                prompt = Content(label)
                for offset in offsets:
                    prompt = prompt.stylize(matcher.match_style, offset, offset + 1)
                yield Hit(score, prompt, self._open(name), text=label, help=self._help(name))


class SLOCommands(ModelViewCommands):
    """`SLOs: <model>`: the model's SLO screen."""

    VIEW = "slo"
    PREFIX = "SLOs"
    IN_FOCUS_HELP = "Error budgets, burn rates and breaches of the model in focus"
    OTHER_HELP = "Error budgets, burn rates and breaches of this model"


class LatencyCommands(ModelViewCommands):
    """`Latency: <model>`: the model's latency screen."""

    VIEW = "latency"
    PREFIX = "Latency"
    IN_FOCUS_HELP = "Latency histogram and p50, p95, p99 over time of the model in focus"
    OTHER_HELP = "Latency histogram and p50, p95, p99 over time of this model"


def command_label(prefix: str, uid: str) -> str:
    """The command's text: the model's uid with every control character made visible."""
    return f"{prefix}: {plain(uid)}"
