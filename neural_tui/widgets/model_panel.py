"""One model at a glance: throughput, p95 latency and error rate with their recent history,
and the latest drift, quality and performance verdicts: a local model's from its engines, a
remote model's as its exporter published them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalGroup
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label, Sparkline

from neural_tui import keymap
from neural_tui.app.formatting import (
    MISSING,
    format_ago,
    format_breakdown,
    format_count,
    format_labelled,
    format_ms,
    format_percent,
    format_range,
    format_reference_filling,
    format_rps,
    format_statistic,
)
from neural_tui.app.messages import DrillView
from neural_tui.app.slo_text import headline
from neural_tui.config import HealthSection
from neural_tui.remote_models import RemoteFigures
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.safe_text import safe_text

if TYPE_CHECKING:
    from neural_tui.app.app import NeuralTuiApp

IDLE_CLASS = "-idle"
"""A local model whose newest record is older than the window: its figures would all be 0."""
HIGH_ERROR_RATE_CLASS = "-high-error-rate"
HIGH_LATENCY_CLASS = "-high-latency"
DATASET_DRIFT_CLASS = "-dataset-drift"
DATASET_DRIFT_SIGN = "▲"
FEW_LABELS_CLASS = "-few-labels"
SLO_PAGE_CLASS = "-slo-page"
SLO_TICKET_CLASS = "-slo-ticket"
FRAME_WIDTH = 4
"""Columns a panel adds around its lines: a border and a padding cell on each side."""
METRIC_LINE_WIDTH = 12 + 12 + 2 + 16
"""A metric line: its name, its value, the gap, and a sparkline still worth reading."""
SUMMARY_GAP = 2
"""Columns between two verdicts of the engine summary (`margin-right` in app.tcss)."""
WRAPPED_WIDTH_COUNTED = 48
"""A line that wraps (the totals with many error types, a stacked verdict such as the
reference's progress) counts this much at most when measuring: longer, it takes two lines
rather than keeping every panel to one column."""


class ModelPanel(Widget, can_focus=True):
    """A focusable panel for one model, updated in place on every snapshot.

    Focus is the console's selection: `enter` (or `d`, `c`, `s`) on a panel posts
    `ModelPanel.Opened` with the model's `uid`, which the overview answers with a drill-down
    screen. The panel is
    marked when the windowed error rate or p95 latency is above the `[health]` limit that
    `neural-tui health` checks, so the console and the CI gate agree. An SLO whose budget
    burns adds a line, coloured by severity (`SLO_PAGE_CLASS`, `SLO_TICKET_CLASS`). A local
    model idle for longer than the window (`IDLE_CLASS`) says since when in place of figures
    that would all be 0, and `r` posts `ModelPanel.ReplayAsked` where the console offers it.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j,right", "next_panel", "Next model", show=False, id=keymap.NEXT_MODEL),
        Binding("up,k,left", "previous_panel", "Previous model", show=False,
                id=keymap.PREVIOUS_MODEL),
        Binding("g", "edge_panel(False)", "First model", show=False, id=keymap.TABLE_TOP),
        Binding("G", "edge_panel(True)", "Last model", show=False, id=keymap.TABLE_BOTTOM),
        Binding("enter", "open('drift')", "Open model", show=False, id=keymap.OPEN_MODEL),
        Binding("d", "open('drift')", "Drift", id=keymap.DRIFT),
        Binding("c", "open('quality')", "Quality", id=keymap.QUALITY),
        Binding("s", "open('slo')", "SLOs", id=keymap.SLO),
        Binding("l", "open('latency')", "Latency", id=keymap.LATENCY),
        Binding("r", "replay", "Replay", id=keymap.REPLAY),
    ]

    @dataclass
    class Opened(Message):
        """The user asked to look closer at the model whose `uid` this is, at its `view`."""

        uid: str
        view: DrillView = "drift"

    @dataclass
    class ReplayAsked(Message):
        """The user asked to replay the storage of this idle model, up to its newest record."""

        model: str
        newest_record_at: float

    class Ready(Message):
        """The panel is mounted and can take the focus (the overview selects the first)."""

    def __init__(self, model: ModelSnapshot, *, health: HealthSection) -> None:
        super().__init__()
        self.uid = model.uid
        self._model = model
        self._health = health
        self._shown: PanelFigures | None = None

    @property
    def remote(self) -> bool:
        """Whether the model is read from a remote source (its figures are exported ones)."""
        return self._model.remote is not None

    def compose(self) -> ComposeResult:
        yield Label(id="idle")
        with HorizontalGroup(classes="metric"):
            yield Label("throughput", classes="metric-name")
            yield Label(id="throughput", classes="metric-value")
            yield Sparkline(id="throughput-series")
        with HorizontalGroup(classes="metric"):
            yield Label("p95 latency", classes="metric-name")
            yield Label(id="latency-p95", classes="metric-value")
            yield Sparkline(id="latency-p95-series")
        with HorizontalGroup(classes="metric"):
            yield Label("error rate", classes="metric-name")
            yield Label(id="error-rate", classes="metric-value")
            yield Sparkline(id="error-rate-series")
        yield Label(id="totals")
        # The verdicts may quote a path or an engine's error (why there is no drift yet):
        # text, never markup.
        with HorizontalGroup(classes="engine-summary"):
            yield Label(id="drift-headline", markup=False)
            yield Label(id="quality-headline", markup=False)
            yield Label(id="performance-headline", markup=False)
        yield Label(id="slo-headline")

    def on_mount(self) -> None:
        self._render_model()
        self.post_message(self.Ready())

    def show(self, model: ModelSnapshot) -> None:
        """Show `model`'s figures: now if the widgets exist, else as soon as they are mounted."""
        self._model = model
        if self.is_mounted:
            self._render_model()

    def _render_model(self) -> None:
        """Write the figures into the existing widgets (nothing is rebuilt), unless they are
        those already shown: most snapshots change few panels, and an update costs a redraw."""
        self._render_idle()
        figures = PanelFigures.of(self._model, self._health)
        if figures == self._shown:
            return
        self._shown = figures
        self.border_title = figures.title
        self.query_one("#throughput", Label).update(figures.throughput)
        self.query_one("#latency-p95", Label).update(figures.latency_p95)
        self.query_one("#error-rate", Label).update(figures.error_rate)
        self.query_one("#throughput-series", Sparkline).data = figures.throughput_series
        self.query_one("#latency-p95-series", Sparkline).data = figures.latency_p95_series
        self.query_one("#error-rate-series", Sparkline).data = figures.error_rate_series
        self.query_one("#totals", Label).update(figures.totals)
        for name, text in (("#drift-headline", figures.drift),
                           ("#quality-headline", figures.quality),
                           ("#performance-headline", figures.performance)):
            verdict = self.query_one(name, Label)
            verdict.update(text)
            verdict.display = bool(text)
        for name, on in figures.classes:
            self.set_class(on, name)
        self.query_one("#slo-headline", Label).update(figures.slo_headline)

    def _render_idle(self) -> None:
        """Say since when an idle model has been quiet in place of its zero figures, with the
        replay key when the console offers one."""
        idle = self.idle_since()
        if (idle is not None) != self.has_class(IDLE_CLASS):
            self.set_class(idle is not None, IDLE_CLASS)
            self.refresh_bindings()
        if idle is not None:
            offer = " · r replay" if self.console_app.offers_replay else ""
            self.query_one("#idle", Label).update(f"idle, newest record {idle}{offer}")

    @property
    def console_app(self) -> NeuralTuiApp:
        return cast("NeuralTuiApp", self.app)

    def idle_since(self) -> str | None:
        """How long ago a local model's newest record was (`3h 5m ago`), when that is longer
        than the window, at the snapshot's time; None for a model with recent records."""
        model = self._model
        newest = model.last_record_at
        now = self.console_app.snapshot.generated_at
        if model.remote is not None or newest is None or not now:
            return None
        if now - newest <= model.window_seconds:
            return None
        return format_ago(now, newest) or None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`r` replays only an idle model's storage, and only where the console offers it."""
        if action == "replay":
            return self.console_app.offers_replay and self.idle_since() is not None
        return True

    def action_replay(self) -> None:
        newest = self._model.last_record_at
        if newest is not None:
            self.post_message(self.ReplayAsked(self._model.name, newest))

    def needed_widths(self) -> tuple[int, int]:
        """The columns this panel needs to show every line uncut, with its verdicts on one
        line and stacked one per line: the overview sets panels side by side only when each
        gets this much."""
        model = self._model
        widths = [cell_len(text) for text in (_drift_summary(model), _quality_summary(model),
                                              _performance_summary(model)) if text]
        found = headline(model.slos)
        others = max(METRIC_LINE_WIDTH, min(_totals(model).cell_len, WRAPPED_WIDTH_COUNTED),
                     _title(model).cell_len + 4, found[0].cell_len if found is not None else 0)
        side_by_side = sum(widths) + SUMMARY_GAP * (len(widths) - 1)
        stacked = min(max(widths, default=0), WRAPPED_WIDTH_COUNTED)
        return max(others, side_by_side) + FRAME_WIDTH, max(others, stacked) + FRAME_WIDTH

    def action_next_panel(self) -> None:
        self.screen.focus_next(ModelPanel)

    def action_previous_panel(self) -> None:
        self.screen.focus_previous(ModelPanel)

    def action_edge_panel(self, last: bool) -> None:
        """Select the first (or last) panel shown: `g`/`G`, as in every table."""
        shown = [panel for panel in self.screen.query(ModelPanel) if panel.display]
        if shown:
            self.screen.set_focus(shown[-1 if last else 0])

    def action_open(self, view: DrillView) -> None:
        self.post_message(self.Opened(self.uid, view))

    def on_click(self, event: events.Click) -> None:
        """A click selects the panel (Textual focuses it); a double click, or a click on its
        top border, where its name is, opens its drift like `enter`. The click may come from
        a label inside, so the border is found on the screen's coordinates."""
        if event.chain >= 2 or event.screen_y == self.region.y:
            self.action_open("drift")


@dataclass(frozen=True)
class PanelFigures:
    """Everything a panel shows of a model, as shown: equal figures need no redraw."""

    title: Text
    throughput: str
    latency_p95: str
    error_rate: str
    throughput_series: tuple[float, ...]
    latency_p95_series: tuple[float, ...]
    error_rate_series: tuple[float, ...]
    totals: Text
    drift: str
    quality: str
    performance: str
    slo_headline: Text | str
    classes: tuple[tuple[str, bool], ...]
    """Each state class and whether the panel has it."""

    @classmethod
    def of(cls, model: ModelSnapshot, health: HealthSection) -> PanelFigures:
        """`model` as its panel shows it, marked against the `[health]` limits."""
        rates_pending = model.remote is not None and model.analysis_waiting is not None
        latency_limit = health.max_latency_p95_ms
        performance = model.performance
        slo = headline(model.slos)
        return cls(
            title=_title(model),
            throughput=MISSING if rates_pending else format_rps(model.throughput_rps),
            latency_p95=format_ms(model.latency_p95_ms),
            error_rate=MISSING if rates_pending else format_percent(model.error_rate),
            throughput_series=plottable(model.throughput_series),
            latency_p95_series=plottable(model.latency_p95_series),
            error_rate_series=plottable(model.error_rate_series),
            totals=_totals(model),
            drift=_drift_summary(model),
            quality=_quality_summary(model),
            performance=_performance_summary(model),
            slo_headline=slo[0] if slo is not None else "",
            classes=(
                (HIGH_ERROR_RATE_CLASS, model.error_rate > health.max_error_rate),
                (HIGH_LATENCY_CLASS, latency_limit is not None
                 and model.latency_p95_ms is not None and model.latency_p95_ms > latency_limit),
                (DATASET_DRIFT_CLASS, model.drifted is True or (
                    model.drift is not None and model.drift.dataset_drift)),
                (FEW_LABELS_CLASS, performance is not None and not performance.reliable),
                (SLO_PAGE_CLASS, slo is not None and slo[1] == "page"),
                (SLO_TICKET_CLASS, slo is not None and slo[1] == "ticket"),
            ),
        )


def plottable(series: tuple[float, ...]) -> tuple[float, ...]:
    """`series` with NaN and infinities drawn as zero: Textual's Sparkline raises on them.

    A log may hold `Infinity` latencies (the old writer used `json.dumps`), and one bad point
    must not take the console down; the figure beside the sparkline still shows the raw value.
    """
    return tuple(value if math.isfinite(value) else 0.0 for value in series)


def _title(model: ModelSnapshot) -> Text:
    """`fraud · 1.2 · last 5m`: the model (from logs, so made safe) and the range its figures
    cover."""
    return safe_text(f"{model.name} · {model.version}") + Text(
        f" · {format_range(model.window_seconds)}")


def _counted(count: int, noun: str) -> str:
    """`1 error`, `16 errors`."""
    return f"{format_count(count)} {noun}{'' if count == 1 else 's'}"


def _totals(model: ModelSnapshot) -> Text:
    """Counts since the start of storage; error types (from logs, so made safe) by frequency.
    A remote model's are its exported counters (no labels), then the instance reporting it."""
    totals = Text(f"{_counted(model.predictions_total, 'prediction')} · ")
    if model.remote is None:
        totals.append(f"{_counted(model.labels_total, 'label')} · ")
    totals.append(_counted(model.errors_count, "error"))
    totals.append_text(format_breakdown(model.errors_total))
    if model.instance:
        totals.append_text(Text.assemble(" · instance ", safe_text(model.instance)))
    return totals


def _drift_summary(model: ModelSnapshot) -> str:
    """How many features drifted, and any other kind of drift that fired (the model's one
    verdict); a drift is marked by a sign, not by colour alone."""
    if model.remote is not None:
        return _remote_drift_summary(model.remote, model.analysis_waiting)
    report = model.drift
    others = [kind for kind in model.drift_kinds if kind != "distribution"]
    fired = f" {DATASET_DRIFT_SIGN} {', '.join(others)} drift" if others else ""
    if report is None:
        return f"drift: {waiting_reason(model) or 'first run pending'}{fired}"
    counted = f"{len(report.drifted_features)}/{len(report.features)} drifted"
    return (f"{DATASET_DRIFT_SIGN} {counted}" if report.dataset_drift else counted) + fired


def waiting_reason(model: ModelSnapshot, report: str = "drift") -> str | None:
    """Why the engines have no result yet; while the reference fills, when `report` appears."""
    filling = model.reference_filling
    if filling is not None:
        return format_reference_filling(*filling, model.throughput_rps, report)
    return model.analysis_waiting


def _remote_drift_summary(figures: RemoteFigures, waiting: str | None) -> str:
    """`▲ 2/5 drifted` from the exported per-feature verdicts (features the exporter judged
    neither way are counted, not drifted), after why the rates are not known yet."""
    features = figures.feature_drift
    drifted = sum(feature.drifted is True for feature in features)
    counted = f"{drifted}/{len(features)} drifted" if features else "drift: not exported"
    summary = f"{DATASET_DRIFT_SIGN} {counted}" if drifted else counted
    return f"{waiting} · {summary}" if waiting else summary


def _quality_summary(model: ModelSnapshot) -> str:
    if model.remote is not None:
        score = model.remote.quality_score
        return "" if score is None or not math.isfinite(score) else f"quality {score:.3f}"
    return "" if model.quality is None else f"quality {model.quality.score:.3f}"


def _performance_summary(model: ModelSnapshot) -> str:
    """The headline figure of the labelled rows, with how many there are; a remote model's
    exported accuracy (its exporter does not say on how many labels)."""
    if model.remote is not None:
        exported = model.remote.accuracy
        return "" if exported is None or not math.isfinite(exported) else (
            f"accuracy {format_percent(exported)}")
    report = model.performance
    if report is None:
        return ""
    labelled = format_labelled(report.n_labelled) + ("" if report.reliable else " (few labels)")
    if report.task == "regression":
        return f"MAE {format_statistic(report.mae)} {labelled}"
    accuracy = MISSING if report.accuracy is None else format_percent(report.accuracy)
    return f"accuracy {accuracy} {labelled}"
