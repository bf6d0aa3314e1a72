"""A model's latency: the histogram over the exported buckets, p50/p95/p99 now, and each of them
over time as a sparkline with its scale written; a remote model's as its exporter publishes it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalGroup
from textual.widgets import Label, Sparkline, Static

from neural_tui.app.formatting import format_count, format_duration, format_ms
from neural_tui.runtime.snapshot import LatencyHistogram, ModelSnapshot
from neural_tui.screens.drill_down import DrillDownScreen, remote_origin
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.model_panel import plottable

WAITING_CLASS = "-waiting"
OVER_LIMIT_CLASS = "-over-limit"
"""The p95 series' label has it while a point of the series is above `[health]
max_latency_p95_ms`."""
BAR_WIDTH = 30
"""Characters of the fullest bucket's bar; the others are drawn in proportion."""
BAR = "█"
PERCENTILES = ("p50", "p95", "p99")


class LatencyScreen(DrillDownScreen):
    """The latency of one model: where its latencies fall and how its percentiles moved."""

    VIEW = "latency"
    VIEW_TITLE = "latency"

    def compose(self) -> ComposeResult:
        yield Label(id="drill-title")
        yield Static(id="latency-waiting")
        with Container(id="latency-body"):
            with VerticalGroup(id="latency-distribution"):
                yield Label(id="latency-now")
                yield Label(id="latency-histogram-heading")
                yield Static(id="latency-histogram")
            with VerticalGroup(id="latency-over-time"):
                for name in PERCENTILES:
                    yield Label(id=f"latency-{name}-label", classes="latency-series-label")
                    yield Sparkline(id=f"latency-{name}-series")
                yield Label(id="latency-series-note")
        yield KeyFooter()

    def show_model(self, model: ModelSnapshot | None) -> None:
        waiting = model is None or not has_latency(model)
        self.set_class(waiting, WAITING_CLASS)
        if model is None or waiting:
            self.query_one("#latency-waiting", Static).update(_waiting_text(model))
            return
        limit = self.console_app.health.max_latency_p95_ms
        self.query_one("#latency-now", Label).update(now_text(model, limit))
        self.query_one("#latency-histogram-heading", Label).update(_histogram_heading(model))
        self.query_one("#latency-histogram", Static).update(histogram_text(model.latency, limit))
        series = {"p50": model.latency_p50_series, "p95": model.latency_p95_series,
                  "p99": model.latency_p99_series}
        for name, points in series.items():
            label = self.query_one(f"#latency-{name}-label", Label)
            label.update(series_label(name, points, model, limit if name == "p95" else None))
            label.set_class(name == "p95" and over_limit(points, limit), OVER_LIMIT_CLASS)
            sparkline = self.query_one(f"#latency-{name}-series", Sparkline)
            sparkline.display = bool(points)
            sparkline.data = plottable(points)
        self.query_one("#latency-series-note", Label).update(_series_note(model))


def has_latency(model: ModelSnapshot) -> bool:
    """Whether anything about the model's latency is known: an observation in its histogram or
    a percentile (a remote exporter may publish either)."""
    return model.latency.count > 0 or any(
        value is not None for value in
        (model.latency_p50_ms, model.latency_p95_ms, model.latency_p99_ms))


def now_text(model: ModelSnapshot, limit_ms: float | None) -> Text:
    """`p50 18.0 ms · p95 42.5 ms · p99 80.0 ms over the last 5m`, the p95 limit when set, and
    where a remote model's figures come from."""
    text = Text.assemble(
        "p50 ", (format_ms(model.latency_p50_ms), "bold"),
        " · p95 ", (format_ms(model.latency_p95_ms),
                    "bold red" if _above(model.latency_p95_ms, limit_ms) else "bold"),
        " · p99 ", (format_ms(model.latency_p99_ms), "bold"),
        f" over the last {format_duration(model.window_seconds)}",
    )
    if limit_ms is not None:
        text.append(f" · p95 limit {format_ms(limit_ms)}")
    if model.remote is not None:
        text.append_text(Text.assemble(" · ", remote_origin(model)))
    return text


def histogram_text(histogram: LatencyHistogram, limit_ms: float | None = None) -> Text:
    """One bar per bucket, `≤ 5 ms ████ 1,234 (12 %)`, from the first bucket holding a latency to
    the last (the empty buckets below and above are left out), the bucket that holds the p95
    limit marked."""
    counts = bucket_counts(histogram)
    labels = [f"≤ {format_bound(b)}" for b in histogram.bounds_seconds]
    labels.append(f"> {format_bound(histogram.bounds_seconds[-1])}"
                  if histogram.bounds_seconds else "all")
    occupied = [i for i, count in enumerate(counts) if count > 0]
    if not occupied:
        return Text("No latency observed.", style="dim")
    shown = range(occupied[0], occupied[-1] + 1)
    fullest = max(counts)
    label_width = max(len(labels[i]) for i in shown)
    count_width = max(len(format_count(counts[i])) for i in shown)
    limit_bucket = _limit_bucket(histogram.bounds_seconds, limit_ms)
    text = Text()
    for i in shown:
        bar = BAR * (math.ceil(BAR_WIDTH * counts[i] / fullest) if counts[i] else 0)
        text.append(f"{labels[i]:>{label_width}} ")
        text.append(f"{bar:<{BAR_WIDTH}}", style="bold" if counts[i] == fullest else "")
        text.append(f" {format_count(counts[i]):>{count_width}} "
                    f"({share_text(counts[i], histogram.count)})")
        if i == limit_bucket:
            text.append(f" ◀ p95 limit {format_ms(limit_ms)}", style="red")
        text.append("\n")
    text.rstrip()
    return text


def _limit_bucket(bounds: Sequence[float], limit_ms: float | None) -> int | None:
    """The bucket whose range holds the limit (the last: above every bound)."""
    if limit_ms is None:
        return None
    return next((i for i, bound in enumerate(bounds) if bound * 1000.0 >= limit_ms),
                len(bounds))


def bucket_counts(histogram: LatencyHistogram) -> list[int]:
    """Observations per bucket (the last is above every bound), from the cumulative counts;
    never negative, even if an exporter's counts are not monotonic."""
    cumulative = [*histogram.cumulative_counts, histogram.count]
    return [max(0, count - previous)
            for previous, count in zip([0, *cumulative[:-1]], cumulative, strict=True)]


def format_bound(seconds: float) -> str:
    """A bucket bound as written in the config: `0.1 ms`, `250 ms`, `2.5 s`."""
    if seconds < 1.0:
        return f"{round(seconds * 1000.0, 6):g} ms"
    return f"{round(seconds, 6):g} s"


def share_text(count: int, total: int) -> str:
    """`12 %`, and `<1 %` for a bucket that holds a latency but under one percent."""
    if total <= 0:
        return "0 %"
    share = 100.0 * count / total
    return "<1 %" if 0 < share < 1.0 else f"{share:.0f} %"


def series_label(name: str, points: Sequence[float], model: ModelSnapshot,
                 limit_ms: float | None) -> Text:
    """`p95 over the last 1m · 40.0 ms to 44.0 ms`: the sparkline's scale, from its lowest to
    its highest point, and the limit for the p95. A local model's series has one point per
    `series_step_seconds` (longer over a longer time range); a remote model's one per poll of
    its source."""
    if not points:
        return Text.assemble((name, "bold"), " over time: ", (
            "not exported (only the p95 is)"
            if model.remote is not None else "no series yet"))
    span = (f" as exported, {len(points)} polls" if model.remote is not None
            else f" over the last {format_duration(len(points) * model.series_step_seconds)}")
    text = Text.assemble((name, "bold"), span)
    finite = [p for p in points if math.isfinite(p) and p > 0]
    if finite:
        text.append(f" · {format_ms(min(finite))} to {format_ms(max(finite))}")
    else:
        text.append(" · no latency in this span")
    if limit_ms is not None:
        text.append(f" · limit {format_ms(limit_ms)}")
    return text


def over_limit(points: Sequence[float], limit_ms: float | None) -> bool:
    return limit_ms is not None and any(_above(p, limit_ms) for p in points)


def _above(value: float | None, limit_ms: float | None) -> bool:
    return value is not None and limit_ms is not None and value > limit_ms


def _histogram_heading(model: ModelSnapshot) -> Text:
    observed = format_count(model.latency.count)
    if model.remote is not None:
        return Text.assemble(f"Histogram ({observed} observed), ", remote_origin(model))
    return Text(f"Histogram since the start of storage ({observed} observed)")


def _series_note(model: ModelSnapshot) -> str:
    if model.remote is not None:
        return ("As exported: p50 and p99 now are read from the exported histogram, as "
                "Prometheus' histogram_quantile reads them.")
    step = model.series_step_seconds
    if step == 1.0:
        return "One point per second; 0 where a second had no latency."
    return f"One point per {format_duration(step)}; 0 where a step had no latency."


def _waiting_text(model: ModelSnapshot | None) -> str:
    if model is None:
        return "This model is not in the latest snapshot."
    if model.remote is not None:
        return "No latency yet: its exporter publishes no latency histogram or percentile."
    return ("No latency yet: the latency view fills once records carry a latency_ms "
            "(records without one are counted, not observed).")
