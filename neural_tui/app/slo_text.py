"""How an SLO's status is written on screen: its concern, budget, SLI, target and burn rates.

The SLO screen and the overview panel both judge an SLO by `concern`, so the panel names the
same SLO the screen lists first. Nothing is computed here: every figure comes from the
`SLOStatus` the runtime published, and every name goes through `safe_text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text

from neural_tui.app.formatting import MISSING
from neural_tui.engines.slo import Severity, SLOStatus
from neural_tui.safe_text import safe_text


@dataclass(frozen=True, slots=True)
class Concern:
    """Why an SLO needs attention: a word to show, the severity that colours it, and its rank
    (0 is the most urgent)."""

    word: str
    severity: Severity
    rank: int


def concern(status: SLOStatus) -> Concern | None:
    """The most urgent reason to look at `status`, or None while its budget is not burning.

    A page-level burn alert or an exhausted budget is a page (what `neural-tui health` fails
    on); a ticket-level burn or a no-data alert is a ticket. An SLO not met has spent more
    than its budget over the same window, so it is exhausted too.
    """
    burns = [alert for alert in status.alerts if alert.name == "slo_burn_rate"]
    if any(alert.severity == "page" for alert in burns):
        return Concern("PAGE", "page", 0)
    if status.exhausted:
        return Concern("BUDGET EXHAUSTED", "page", 1)
    if burns:
        return Concern("TICKET", "ticket", 2)
    no_data = [alert for alert in status.alerts if alert.name == "slo_no_data"]
    if no_data:
        return Concern("NO DATA", no_data[0].severity, 3)
    return None


def worst_first(statuses: tuple[SLOStatus, ...]) -> list[SLOStatus]:
    """The SLOs most in need of attention first, then the rest, each group in config order."""
    def rank(status: SLOStatus) -> int:
        found = concern(status)
        return NO_CONCERN_RANK if found is None else found.rank

    return sorted(statuses, key=rank)


NO_CONCERN_RANK = 4
"""After every rank `concern` hands out."""


def format_budget(remaining: float | None) -> str:
    """Remaining error budget as a percentage of the whole budget; negative once overspent."""
    if remaining is None or not math.isfinite(remaining):
        return MISSING
    figure = budget_percent(remaining)
    return f"{figure} overspent" if remaining < 0 else figure


def budget_percent(remaining: float) -> str:
    """`-12.5 %`: never "-0.0 %" (a budget overspent by less than 0.05 % reads 0.0 %, its
    "overspent" or colour says the rest)."""
    return f"{remaining * 100:z,.1f} %"


def format_fraction(fraction: float | None) -> str:
    """An SLI or objective as a percentage, with a third decimal near 0 and 100 % (99.95)."""
    if fraction is None or not math.isfinite(fraction):
        return MISSING
    percent = fraction * 100
    decimals = 3 if 99.9 < percent < 100 or 0 < percent < 0.1 else 2
    return f"{percent:.{decimals}f} %"


def format_burn_rate(rate: float | None) -> str:
    """A burn rate: 1 spends the budget exactly over the SLO window."""
    if rate is None or not math.isfinite(rate):
        return MISSING
    if rate < 10:
        return f"{rate:.2f}"
    return f"{rate:,.1f}" if rate < 1000 else f"{rate:,.0f}"


def burn_rates_text(status: SLOStatus) -> Text:
    """`1h 0.40  5m 0.00  ...`: every window the engine measured, in its order."""
    return Text("  ".join(f"{window} {format_burn_rate(rate)}"
                           for window, rate in status.burn_rates.items()))


def target_text(status: SLOStatus) -> str:
    """What the SLO promises, in its own terms: at most an error fraction, else at least."""
    spec = status.spec
    if spec.type == "error_rate":
        return f"≤ {format_fraction(spec.target)}"
    return f"≥ {format_fraction(spec.target)}"


def type_text(status: SLOStatus) -> str:
    """The SLO's type, with the threshold that decides a good event when it has one."""
    spec = status.spec
    if spec.type == "latency" and spec.threshold_ms is not None:
        return f"latency ≤ {spec.threshold_ms:g} ms"
    if spec.type == "throughput" and spec.min_rps is not None:
        return f"throughput ≥ {spec.min_rps:g} rps"
    return spec.type


def headline(statuses: tuple[SLOStatus, ...]) -> tuple[Text, Severity] | None:
    """One short line for a model's panel: its most urgent SLO, and how many others burn.

    Short enough for a panel half of 120 columns: the budget below zero says "overspent"
    by its sign alone. None when every SLO is fine, or the model has none.
    """
    concerned = [(found, status) for status in statuses if (found := concern(status))]
    if not concerned:
        return None
    found, status = min(concerned, key=lambda pair: pair[0].rank)
    sign = "▲ " if found.severity == "page" else ""
    line = Text.assemble(f"{sign}SLO ", safe_text(status.spec.name), f": {found.word}")
    remaining = status.error_budget_remaining
    if remaining is not None and math.isfinite(remaining):
        line.append(f" · budget {budget_percent(remaining)}")
    if len(concerned) > 1:
        line.append(f" (+{len(concerned) - 1} more)")
    return line, found.severity
