"""The selected feature's drift: its distributions side by side, every test, and its history."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import HorizontalGroup, VerticalGroup
from textual.widgets import Label, Sparkline, Static

from neural_tui.app.formatting import (
    format_count,
    format_p_value,
    format_statistic,
)
from neural_tui.engines.drift import FeatureDrift
from neural_tui.safe_text import safe_text
from neural_tui.widgets.distribution import Distribution
from neural_tui.widgets.model_panel import plottable

TEST_LABELS = {
    "ks": "KS",
    "chi2": "chi2",
    "z": "z",
    "psi": "PSI",
    "wasserstein": "W normed",
    "jensen_shannon": "JS",
}
"""How each deciding test is named on screen (its statistic, for `wasserstein`, is normed)."""


def describe_test(test: str) -> str:
    return TEST_LABELS.get(test, test)


class FeatureDriftDetail(VerticalGroup):
    """Side panel of the drift screen, redrawn in place for whichever feature is selected."""

    def compose(self) -> ComposeResult:
        with HorizontalGroup(id="feature-heading"):
            yield Label(id="feature-title")
            yield Label("history", id="feature-history-label")
            yield Sparkline(id="feature-history")
        with HorizontalGroup(id="feature-figures"):
            yield Distribution(id="feature-distribution")
            yield Static(id="feature-tests")

    def show(self, feature: FeatureDrift, history: tuple[float, ...]) -> None:
        self.query_one("#feature-title", Label).update(_title(feature))
        self.query_one(Distribution).show(
            feature.bins, feature.reference_shares, feature.current_shares
        )
        self.query_one("#feature-tests", Static).update(_tests(feature))
        self.query_one("#feature-history", Sparkline).data = plottable(history)


def _title(feature: FeatureDrift) -> Text:
    verdict = "DRIFTED" if feature.drifted else "no drift"
    return Text.assemble(
        safe_text(feature.name), f" · {feature.kind} · {describe_test(feature.test)} · {verdict}"
    )


def _tests(feature: FeatureDrift) -> Table:
    """The values of every test for the feature's kind, then the extras the engine measured."""
    if feature.kind == "numeric":
        figures = [
            ("KS stat", format_statistic(feature.ks_statistic)),
            ("KS p", format_p_value(feature.ks_p_value)),
            ("PSI", format_statistic(feature.psi)),
            ("Wasserstein", format_statistic(feature.wasserstein)),
            ("W normed", format_statistic(feature.wasserstein_normed)),
            ("JS distance", format_statistic(feature.jensen_shannon)),
        ]
    else:
        figures = [
            ("chi2 stat", format_statistic(feature.chi2_statistic)),
            ("chi2 p", format_p_value(feature.chi2_p_value)),
            ("PSI", format_statistic(feature.psi)),
            ("JS distance", format_statistic(feature.jensen_shannon)),
        ]
    if feature.kind == "numeric" and feature.chi2_statistic is not None:
        figures += [
            ("chi2 stat", format_statistic(feature.chi2_statistic)),
            ("chi2 p", format_p_value(feature.chi2_p_value)),
        ]
    if feature.z_statistic is not None:
        figures += [
            ("z stat", format_statistic(feature.z_statistic)),
            ("z p", format_p_value(feature.z_p_value)),
        ]
    if feature.p_value is not None:
        figures += [
            ("p Bonferroni", format_p_value(feature.p_value_bonferroni)),
            ("p BH", format_p_value(feature.p_value_bh)),
            ("effect size", format_statistic(feature.effect_size)),
        ]
    counts = f"{format_count(feature.n_reference)} / {format_count(feature.n_current)}"
    figures.append(("n ref / cur", counts))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    for name, value in figures:
        grid.add_row(Text(name), Text(value))
    if feature.reason is not None:
        grid.add_row(Text("not tested"), safe_text(feature.reason))
    return grid
