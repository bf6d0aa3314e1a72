"""The console's own commands in Textual's command palette (ctrl+p): jump to a model's view,
to a feature, to an SLO, to an alert.

Model, feature, SLO and alert names come from logs and remote endpoints: a hit's prompt is
built as literal `Content` (the palette reads a plain string as markup) with control characters
replaced and long names cut short, and its help never holds a name.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen

from neural_tui.app.alert_formatting import alert_model, alert_title, state_word
from neural_tui.app.formatting import short_name
from neural_tui.app.messages import DrillView
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.screens.alerts import entry_key
from neural_tui.screens.drill_down import DrillDownScreen
from neural_tui.widgets.model_panel import ModelPanel

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

VIEW_LABELS: dict[str, tuple[str, str]] = {
    "drift": ("Drift", "Feature drift and performance"),
    "quality": ("Quality", "Data quality per feature"),
    "slo": ("SLOs", "Error budgets, burn rates and breaches"),
    "latency": ("Latency", "Latency percentiles and distribution"),
}
"""Per view (by name, so a view the console gains is offered once it is listed here): its
command's prefix and what it shows."""
MAX_DISCOVERED = 200
"""Before anything is typed, a provider lists at most this many commands (a fleet may have
thousands of features); typing searches them all."""
MAX_FOUND = 200
"""A search lists at most this many commands of a provider, the best matches: the palette
redraws its whole list as hits come, so 100,000 hits would hold the console for minutes."""
SEARCH_SLICE = 1_000
"""Commands matched between two returns to the event loop, so keys are read during a long
search (and a key typed meanwhile cancels it)."""


@dataclass(frozen=True, slots=True)
class Command:
    """One palette entry: its text (made safe), its help (never a name), what it does."""

    label: str
    help: str
    run: Callable[[], None]


def model_in_focus(screen: Screen[object]) -> str | None:
    """The `uid` of the model a key would act on: a drill-down's own, or the selected
    overview panel's."""
    if isinstance(screen, DrillDownScreen):
        return screen.uid
    focused = screen.focused
    return focused.uid if isinstance(focused, ModelPanel) else None


class ConsoleProvider(Provider):
    """Lists `commands()` before anything is typed and fuzzy-matches them as the user types."""

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def models(self) -> list[ModelSnapshot]:
        """The latest snapshot's models, the one in focus first."""
        models = list(self.console_app.snapshot.models)
        focused = model_in_focus(self.screen)
        return sorted(models, key=lambda model: model.uid != focused)

    def commands(self) -> Iterator[Command]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for index, command in enumerate(self.commands()):
            if index == MAX_DISCOVERED:
                return
            yield DiscoveryHit(Content(command.label), command.run, text=command.label,
                               help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        best: list[tuple[float, int, Sequence[int], Command]] = []
        """The best `MAX_FOUND` matches so far, worst first; ties go to the earlier command."""
        for index, command in enumerate(self.commands()):
            if index % SEARCH_SLICE == SEARCH_SLICE - 1:
                await asyncio.sleep(0)
            score, offsets = matcher.fuzzy_search.match(matcher.query, command.label)
            if score <= 0:
                continue
            found = (score, -index, offsets, command)
            if len(best) < MAX_FOUND:
                heapq.heappush(best, found)
            elif found[:2] > best[0][:2]:
                heapq.heapreplace(best, found)
        for score, _, offsets, command in sorted(best, key=lambda hit: hit[:2], reverse=True):
            prompt = Content(command.label)
            for offset in offsets:
                prompt = prompt.stylize(matcher.match_style, offset, offset + 1)
            yield Hit(score, prompt, command.run, text=command.label, help=command.help)


class ModelCommands(ConsoleProvider):
    """`Drift: <model>`, `Quality: <model>`, `SLOs: <model>` (and every other view the console
    offers) for every model (a remote one as `name @ source`), the model in focus first."""

    def commands(self) -> Iterator[Command]:
        focused = model_in_focus(self.screen)
        views = [view for view in self.console_app.drill_views if view in VIEW_LABELS]
        for model in self.models():
            whose = "the model in focus" if model.uid == focused else "this model"
            for view in views:
                prefix, shows = VIEW_LABELS[view]
                yield Command(f"{prefix}: {shown_name(model.uid)}", f"{shows} of {whose}",
                              partial(self.console_app.open_drill_down, model.uid, view))


class FeatureCommands(ConsoleProvider):
    """`Feature: <feature> · <model>` for every feature of a local model's latest drift
    report (else its quality report): opens its drift, the feature selected."""

    def commands(self) -> Iterator[Command]:
        for model in self.models():
            for feature in feature_names(model):
                yield Command(f"Feature: {shown_name(feature)} · {shown_name(model.uid)}",
                              "Drift of this feature, the model's other features beside it",
                              partial(self.console_app.open_drill_down, model.uid,
                                      cast("DrillView", "drift"), feature))


class SLOCommands(ConsoleProvider):
    """`SLO: <slo> · <model>` for every SLO of a local model: opens its SLOs, that one
    selected."""

    def commands(self) -> Iterator[Command]:
        for model in self.models():
            for name in dict.fromkeys(status.spec.name for status in model.slos):
                yield Command(f"SLO: {shown_name(name)} · {shown_name(model.uid)}",
                              "Budget, burn rates and breaches of this SLO",
                              partial(self.console_app.open_drill_down, model.uid,
                                      cast("DrillView", "slo"), name))


class AlertJumps(ConsoleProvider):
    """`Alert: <alert> · <model> · <state>` for every current and recently resolved alert:
    opens the alerts screen, that one selected."""

    def commands(self) -> Iterator[Command]:
        if not self.console_app.alerting:
            return
        view = self.console_app.alerts_view
        for entry in (*view.current, *view.resolved):
            label = f"Alert: {shown_name(alert_title(entry))}"
            model = alert_model(entry)
            if model:
                label += f" · {shown_name(model)}"
            yield Command(f"{label} · {state_word(entry)}", "This alert in detail",
                          partial(self.console_app.open_alerts, entry_key(entry)))


def shown_name(value: str) -> str:
    """A name from a log as a palette entry shows it: controls replaced, cut short (one
    10,000-character name would fill the palette's list)."""
    return short_name(value).plain


def feature_names(model: ModelSnapshot) -> list[str]:
    """A local model's features, from its drift report, else its quality report."""
    if model.drift is not None:
        return [feature.name for feature in model.drift.features]
    if model.quality is not None:
        return [feature.name for feature in model.quality.features]
    return []
