"""A model's drift: features worst first, the selected one in detail, and model performance;
for a remote model, the per-feature drift its exporter publishes."""

from __future__ import annotations

import math
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, HorizontalGroup, VerticalGroup
from textual.widgets import DataTable, Label, Static

from neural_tui.app.formatting import (
    MISSING,
    engine_range_scope,
    format_count,
    format_labelled,
    format_p_value,
    format_percent,
    format_range,
    format_statistic,
)
from neural_tui.engines.concept import ConceptDriftState
from neural_tui.engines.drift import P_VALUE_TESTS, DriftReport, FeatureDrift
from neural_tui.engines.performance import PerformanceReport
from neural_tui.remote_models import FeatureDriftFigure, RemoteFigures
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.safe_text import safe_text
from neural_tui.screens.drill_down import DrillDownScreen, remote_origin, remote_source
from neural_tui.widgets.feature_drift_detail import FeatureDriftDetail, describe_test
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.keyed_table import KeyedRow, KeyedTable

WAITING_CLASS = "-waiting"
DATASET_DRIFT_CLASS = "-dataset-drift"
FEW_LABELS_CLASS = "-few-labels"
DATASET_DRIFT_SIGN = "▲"

DRIFT_COLUMNS = (
    ("feature", "feature"),
    ("drifted", "drifted"),
    ("test", "test"),
    ("statistic", "statistic"),
    ("p-value", "p_value"),
    ("threshold", "threshold"),
    ("kind", "kind"),
)
"""`drifted` comes second so that it stays in view on a narrow terminal."""

KIND_LABELS = {"numeric": "num", "categorical": "cat"}
"""Short, so that the table fits 80 columns; the detail panel spells the kind out."""

CORRECTION_NAMES = {"none": "uncorrected", "bonferroni": "Bonferroni", "bh": "BH"}

REMOTE_DRIFT_COLUMNS = (*DRIFT_COLUMNS[:-1], ("of threshold", "ratio"))
"""What an exporter publishes per feature (`FeatureDriftFigure`): no kind, but how far past
its threshold each feature is."""
NO_HISTOGRAM = ("No histogram here: a remote model has no raw records, its exporter publishes "
                "one statistic per feature, on its test's scale. For KS, chi2 and z the "
                "threshold is alpha, met by the p-value; \"of threshold\" is statistic / "
                "threshold, or alpha / p-value: 100 % is at the threshold.")


class DriftScreen(DrillDownScreen):
    """Feature drift of one model, updated in place on every snapshot while it is on top."""

    VIEW = "drift"
    VIEW_TITLE = "drift"
    SELECTION_TABLE = "#drift-table"
    SELECTION_NOUN = "feature"
    FILTERED_TABLES = ("#drift-table", "#remote-drift-table")
    COMPONENT_CLASSES: ClassVar[set[str]] = {"drift-screen--drifted"}

    def __init__(self, model_name: str, *, engine_interval_seconds: float = 10.0) -> None:
        super().__init__(model_name, engine_interval_seconds=engine_interval_seconds)
        self._model: ModelSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="drill-title")
        with VerticalGroup(id="drift-header"):
            yield Label(id="drift-summary")
            yield Label(id="drift-verdicts")
            yield Label(id="prediction-drift")
        with HorizontalGroup(id="performance-line"):
            yield Label(id="performance")
            yield Label(id="few-labels")
        yield Static(id="drift-waiting", markup=False)
        with Container(id="drift-body"):
            yield KeyedTable(DRIFT_COLUMNS, id="drift-table")
            yield FeatureDriftDetail(id="feature-detail")
        with Container(id="remote-drift-body"):
            yield Static(NO_HISTOGRAM, id="remote-drift-note")
            yield KeyedTable(REMOTE_DRIFT_COLUMNS, id="remote-drift-table")
        yield KeyFooter()

    def show_model(self, model: ModelSnapshot | None) -> None:
        self._model = model
        if model is not None and model.remote is not None:
            self._show_remote(model, model.remote)
            return
        report = model.drift if model is not None else None
        self.set_class(report is None, WAITING_CLASS)
        self.set_class(report is not None and report.dataset_drift, DATASET_DRIFT_CLASS)
        performance = model.performance if model is not None else None
        self.set_class(performance is not None and not performance.reliable, FEW_LABELS_CLASS)
        scope = model.engine_range if model is not None else None
        self.query_one("#performance", Label).update(
            _performance(performance, scope.seconds if scope is not None else None))
        self.query_one("#few-labels", Label).update(_few_labels(performance))
        if report is None:
            self.query_one("#drift-waiting", Static).update(self.waiting_text(model))
            return
        self.query_one("#drift-summary", Label).update(_summary(report, model))
        self.query_one("#drift-verdicts", Label).update(_verdicts(report))
        output = self.query_one("#prediction-drift", Label)
        output.update(prediction_drift(report))
        output.display = True
        drifted_style = self.get_component_rich_style("drift-screen--drifted")
        by_severity = sorted(report.features, key=lambda f: (-f.severity, f.name))
        table = self.query_one("#drift-table", KeyedTable)
        table.sync([_row(feature, drifted_style) for feature in by_severity])
        self._show_selected()

    def _show_remote(self, model: ModelSnapshot, figures: RemoteFigures) -> None:
        """The exported per-feature drift, worst first, and why there is no histogram."""
        self.set_class(False, WAITING_CLASS)
        self.set_class(model.drifted is True, DATASET_DRIFT_CLASS)
        self.set_class(False, FEW_LABELS_CLASS)
        self.query_one("#drift-summary", Label).update(_remote_summary(model, figures))
        self.query_one("#drift-verdicts", Label).update(_drift_scores(model))
        self.query_one("#prediction-drift", Label).display = False
        self.query_one("#performance", Label).update(_remote_performance(figures))
        self.query_one("#few-labels", Label).update("")
        drifted_style = self.get_component_rich_style("drift-screen--drifted")
        rows = remote_rows(figures.feature_drift)
        self.query_one("#remote-drift-table", KeyedTable).sync(
            [_remote_row(key, feature, drifted_style) for key, feature in rows])

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        if message.data_table.id == "drift-table":
            self._show_selected()

    def _show_selected(self) -> None:
        """Detail of the feature under the cursor, from the snapshot this screen last showed."""
        report = self._model.drift if self._model is not None else None
        name = self.query_one("#drift-table", KeyedTable).selected_key
        feature = report.feature(name) if report is not None and name is not None else None
        detail = self.query_one(FeatureDriftDetail)
        detail.display = feature is not None
        if feature is not None and self._model is not None:
            detail.show(feature, tuple(self._model.feature_drift_history.get(feature.name, ())))


def _row(feature: FeatureDrift, drifted_style: Style) -> KeyedRow:
    if feature.reason is not None:
        marker = Text("untested")
    elif feature.drifted:
        marker = Text("▲ yes", style=drifted_style)
    else:
        marker = Text("no")
    return KeyedRow(
        feature.name,
        (
            safe_text(feature.name),
            marker,
            Text(describe_test(feature.test)),
            Text(format_statistic(feature.statistic), justify="right"),
            Text(format_p_value(feature.p_value), justify="right"),
            Text(format_statistic(feature.threshold), justify="right"),
            Text(KIND_LABELS.get(feature.kind, feature.kind)),
        ),
        (feature.name, None if feature.reason is not None else int(feature.drifted),
         describe_test(feature.test), feature.statistic, feature.p_value, feature.threshold,
         feature.kind),
    )


def _summary(report: DriftReport, model: ModelSnapshot | None) -> Text:
    """Counts and the verdict; over a time range, what of it was judged."""
    drifted = len(report.drifted_features)
    verdict = "DATASET DRIFT" if report.dataset_drift else "no dataset drift"
    scope = model.engine_range if model is not None else None
    return Text(
        (f"{engine_range_scope(scope)} · " if scope is not None else "")
        + f"reference {format_count(report.n_reference)} · current "
          f"{format_count(report.n_current)}"
        f" · {drifted} of {len(report.features)} features drifted"
        f" ({format_percent(report.drifted_share)}) · {verdict}"
    )


def _verdicts(report: DriftReport) -> Text:
    """Drifted features under each correction."""
    counts = " · ".join(
        f"{CORRECTION_NAMES.get(method, method)} {len(outcome.drifted)}"
        + (" (used)" if method == report.correction else "")
        for method, outcome in report.corrections.items()
    )
    return Text(f"features drifted: {counts}")


def prediction_drift(report: DriftReport) -> Text:
    """The model's outputs apart from its input features: the predicted values, the top
    class probability (confidence) and concept drift, each when known."""
    parts = []
    if report.prediction is not None:
        parts.append(f"prediction {_output_drift(report.prediction)}")
    if report.top_probability is not None:
        parts.append(f"confidence {_output_drift(report.top_probability)}")
    if report.concept is not None:
        parts.append(f"concept {_concept(report.concept)}")
    return Text("model output: " + (" · ".join(parts) if parts else "not tested"))


def _output_drift(feature: FeatureDrift) -> str:
    verdict = "DRIFT" if feature.drifted else "stable"
    figure = f"{describe_test(feature.test)} {format_statistic(feature.statistic)}"
    if feature.p_value is not None:
        figure += f", p {format_p_value(feature.p_value)}"
    return f"{verdict} ({figure})"


def _concept(state: ConceptDriftState) -> str:
    verdict = "DRIFT" if state.drift_detected else "stable"
    return f"{verdict} (Page-Hinkley at {state.normalised:.2f} of threshold)"


def _performance(report: PerformanceReport | None, seconds: float | None = None) -> Text:
    """Each figure with the number of labelled rows it rests on beside it; over a time range,
    which (`seconds`)."""
    if report is None:
        return Text("performance: waiting for labelled predictions"
                    + (f" ({format_range(seconds)})" if seconds is not None else ""))
    if seconds is not None:
        return Text(f"{format_range(seconds)}: ") + _performance(report)
    if report.task == "regression":
        written = [("MAE", format_statistic(report.mae)), ("RMSE", format_statistic(report.rmse))]
    else:
        rates = [
            ("accuracy", report.accuracy),
            ("precision", report.precision),
            ("recall", report.recall),
            ("F1", report.f1),
        ]
        written = [(name, MISSING if v is None else format_percent(v)) for name, v in rates]
        if report.roc_auc is not None:
            written.append(("ROC AUC", format_statistic(report.roc_auc)))
    labelled = format_labelled(report.n_labelled)
    return Text(" · ".join(f"{name} {value} {labelled}" for name, value in written))


def _few_labels(report: PerformanceReport | None) -> str:
    if report is None:
        return ""
    return f"FEW LABELS ({report.n_labelled} < {report.min_labels})"


def remote_rows(features: tuple[FeatureDriftFigure, ...]) -> list[tuple[str, FeatureDriftFigure]]:
    """The exported features worst first, each with a unique row key.

    Drifted first, then those the exporter did not judge, then the rest; within each, the
    share of its threshold (`threshold_share`), highest first (features without one after
    those with one, by statistic), so features tested on different scales compare.
    A statistic that is not a number sorts last.
    """
    def worst(feature: FeatureDriftFigure) -> tuple[int, int, float, str]:
        verdict = {True: 0, None: 1, False: 2}[feature.drifted]
        ratio = threshold_share(feature)
        if ratio is not None:
            return verdict, 0, -ratio, feature.feature
        statistic = feature.statistic
        return verdict, 1, -statistic if not math.isnan(statistic) else math.inf, feature.feature

    ordered = sorted(features, key=worst)
    keys: list[str] = []
    taken: set[str] = set()
    for feature in ordered:
        key = f"{feature.feature} · {feature.test}"
        while key in taken:
            key += " ·"
        taken.add(key)
        keys.append(key)
    return list(zip(keys, ordered, strict=True))


def threshold_share(feature: FeatureDriftFigure) -> float | None:
    """How far a feature has gone toward its threshold, 1 at it: statistic / threshold for a
    distance test; alpha / p-value for a test that decides by p-value (KS, chi2, z), whose
    exported threshold is alpha, not a value on its statistic's scale. None when the figures
    needed are not numbers or the threshold is not above zero."""
    threshold = feature.threshold
    if threshold is None or not math.isfinite(threshold) or threshold <= 0:
        return None
    if feature.test in P_VALUE_TESTS:
        p_value = feature.p_value
        if p_value is None or not 0 <= p_value <= 1:
            return None
        return threshold / p_value if p_value > 0 else math.inf
    if math.isnan(feature.statistic):
        return None
    return feature.statistic / threshold


def _remote_row(key: str, feature: FeatureDriftFigure, drifted_style: Style) -> KeyedRow:
    if feature.drifted is None:
        marker = Text("not said")
    elif feature.drifted:
        marker = Text("▲ yes", style=drifted_style)
    else:
        marker = Text("no")
    share = threshold_share(feature)
    return KeyedRow(
        key,
        (
            safe_text(feature.feature),
            marker,
            safe_text(describe_test(feature.test)),
            Text(format_statistic(feature.statistic), justify="right"),
            Text(format_p_value(feature.p_value), justify="right"),
            Text(format_statistic(feature.threshold), justify="right"),
            Text(MISSING if share is None else format_percent(share), justify="right"),
        ),
        (feature.feature, None if feature.drifted is None else int(feature.drifted),
         describe_test(feature.test), feature.statistic, feature.p_value, feature.threshold,
         share),
    )


def _remote_summary(model: ModelSnapshot, figures: RemoteFigures) -> Text:
    """`5 features · 2 drifted · as exported by target host-1`."""
    features = figures.feature_drift
    if not features:
        return Text.assemble(remote_source(model), " exports no per-feature drift for this model")
    drifted = sum(feature.drifted is True for feature in features)
    counted = f"{len(features)} feature{'s' if len(features) != 1 else ''} · {drifted} drifted"
    sign = f"{DATASET_DRIFT_SIGN} " if drifted else ""
    return Text.assemble(f"{sign}{counted} · ", remote_origin(model))


def _drift_scores(model: ModelSnapshot) -> Text:
    """`drift score: distribution 0.31 · prediction 0.04` (kinds named by the exporter)."""
    if not model.drift_scores:
        return Text("drift score: not exported")
    scores = Text(" · ").join(
        Text.assemble(safe_text(kind), f" {format_statistic(score)}")
        for kind, score in sorted(model.drift_scores.items()))
    return Text.assemble("drift score: ", scores)


def _remote_performance(figures: RemoteFigures) -> Text:
    """The exported accuracy, precision, recall and F1 (how many labels they rest on is not
    exported)."""
    rates = [("accuracy", figures.accuracy), ("precision", figures.precision),
             ("recall", figures.recall), ("F1", figures.f1)]
    if all(value is None for _, value in rates):
        return Text("performance: not exported")
    written = [f"{name} {MISSING if v is None or not math.isfinite(v) else format_percent(v)}"
               for name, v in rates]
    return Text(" · ".join(written) + " (exported)")
