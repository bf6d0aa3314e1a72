"""A model's data quality: the score, schema problems, and features worst first; for a remote
model, the score and rates its exporter publishes."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Container, VerticalGroup
from textual.widgets import DataTable, Label, Static

from neural_tui.app.formatting import (
    MISSING,
    engine_range_scope,
    format_count,
    format_percent,
    format_statistic,
)
from neural_tui.engines.quality import FeatureQuality, QualityReport
from neural_tui.remote_models import RemoteFigures
from neural_tui.runtime.snapshot import ModelSnapshot
from neural_tui.safe_text import safe_text
from neural_tui.screens.drill_down import DrillDownScreen, remote_origin
from neural_tui.widgets.key_footer import KeyFooter
from neural_tui.widgets.keyed_table import KeyedRow, KeyedTable

WAITING_CLASS = "-waiting"
SCHEMA_PROBLEMS_CLASS = "-schema-problems"

QUALITY_COLUMNS = (
    ("feature", "feature"),
    ("missing", "missing"),
    ("missing by kind", "missing_by_kind"),
    ("type", "type_violations"),
    ("range", "out_of_range"),
    ("outliers", "outliers"),
    ("new categories", "new_categories"),
    ("kind", "kind"),
)

NO_FEATURE_TABLE = ("No per-feature table here: a remote model has no raw records, its "
                    "exporter publishes one quality score and the missing and outlier rates for "
                    "the whole model, not per feature.")


class QualityScreen(DrillDownScreen):
    """Data quality of one model, updated in place on every snapshot while it is on top."""

    VIEW = "quality"
    VIEW_TITLE = "data quality"
    SELECTION_TABLE = "#quality-table"
    SELECTION_NOUN = "feature"
    FILTERED_TABLES = ("#quality-table",)

    def __init__(self, model_name: str, *, engine_interval_seconds: float = 10.0) -> None:
        super().__init__(model_name, engine_interval_seconds=engine_interval_seconds)
        self._report: QualityReport | None = None

    def compose(self) -> ComposeResult:
        yield Label(id="drill-title")
        with VerticalGroup(id="quality-header"):
            yield Label(id="quality-summary")
            yield Label(id="quality-schema")
        yield Static(id="quality-waiting", markup=False)
        with Container(id="quality-body"):
            yield KeyedTable(QUALITY_COLUMNS, id="quality-table")
            yield Label(id="quality-detail")
        yield Static(NO_FEATURE_TABLE, id="remote-quality-note")
        yield KeyFooter()

    def show_model(self, model: ModelSnapshot | None) -> None:
        report = self._report = model.quality if model is not None else None
        if model is not None and model.remote is not None:
            self.set_class(False, WAITING_CLASS)
            self.set_class(False, SCHEMA_PROBLEMS_CLASS)
            self.query_one("#quality-summary", Label).update(_remote_summary(model.remote))
            self.query_one("#quality-schema", Label).update(remote_origin(model))
            return
        self.set_class(report is None, WAITING_CLASS)
        if report is None:
            self.query_one("#quality-waiting", Static).update(self.waiting_text(model))
            return
        schema_problems = bool(report.missing_features or report.unexpected_features)
        self.set_class(schema_problems, SCHEMA_PROBLEMS_CLASS)
        self.query_one("#quality-summary", Label).update(_summary(report, model))
        self.query_one("#quality-schema", Label).update(_schema(report))
        self.query_one(KeyedTable).sync([_row(feature) for feature in report.by_severity()])
        self._show_selected()

    def on_data_table_row_highlighted(self, _: DataTable.RowHighlighted) -> None:
        self._show_selected()

    def _show_selected(self) -> None:
        name = self.query_one(KeyedTable).selected_key
        features = self._report.features if self._report is not None else ()
        feature = next((f for f in features if f.name == name), None)
        detail = self.query_one("#quality-detail", Label)
        detail.display = feature is not None
        if feature is not None:
            detail.update(_detail(feature))


def _summary(report: QualityReport, model: ModelSnapshot | None) -> Text:
    """The score and rates; over a time range, what of it was judged."""
    rates = [
        ("missing", report.missing_values_rate),
        ("type violations", report.type_violation_rate),
        ("out of range", report.out_of_range_rate),
        ("outliers", report.outlier_rate),
        ("new categories", report.new_category_rate),
    ]
    parts = [f"score {report.score:.3f}", f"rows {format_count(report.rows)}"]
    if model is not None and model.engine_range is not None:
        parts.insert(0, engine_range_scope(model.engine_range))
    parts += [f"{name} {format_percent(rate)}" for name, rate in rates]
    return Text(" · ".join(parts))


def _schema(report: QualityReport) -> Text:
    """Missing and unexpected feature names (from logs, so made safe), or that all is well."""
    if not (report.missing_features or report.unexpected_features):
        return Text("schema: every reference feature present, none unexpected")
    parts = []
    for heading, names in (
        ("missing features", report.missing_features),
        ("unexpected features", report.unexpected_features),
    ):
        if names:
            parts.append(Text.assemble(f"{heading}: ", Text(", ").join(map(safe_text, names))))
    return Text.assemble("schema: ", Text(" · ").join(parts))


def _row(feature: FeatureQuality) -> KeyedRow:
    return KeyedRow(
        feature.name,
        (
            safe_text(feature.name),
            Text(
                f"{format_count(feature.missing_count)} ({format_percent(feature.missing_rate)})",
                justify="right",
            ),
            Text(_missing_by_kind(feature)),
            _count(feature.type_violations),
            _count(feature.out_of_range),
            _count(feature.outliers),
            _new_categories(feature),
            Text(feature.kind),
        ),
        (feature.name, feature.missing_rate, _missing_by_kind(feature), feature.type_violations,
         feature.out_of_range, feature.outliers, feature.new_category_count, feature.kind),
    )


def _count(count: int) -> Text:
    return Text(format_count(count), justify="right")


def _missing_by_kind(feature: FeatureQuality) -> str:
    kinds = [
        ("null", feature.null_count),
        ("NaN", feature.nan_count),
        ("+inf", feature.posinf_count),
        ("-inf", feature.neginf_count),
        ("empty", feature.empty_count),
    ]
    return ", ".join(f"{name} {format_count(count)}" for name, count in kinds if count) or "—"


def _new_categories(feature: FeatureQuality) -> Text:
    """How many cells had a new category, then the most frequent names (from logs: made safe)."""
    if not feature.new_category_count:
        return Text("—")
    names = Text(", ").join(safe_text(name) for name, _ in feature.new_categories)
    return Text.assemble(f"{format_count(feature.new_category_count)}: ", names)


def _detail(feature: FeatureQuality) -> Text:
    """The reference bounds the selected feature was judged against, and its new categories."""
    detail = Text.assemble(safe_text(feature.name), f" · {format_count(feature.checked)} checked")
    detail.append(f" · expected range {_bounds(feature.expected_range)}")
    detail.append(f" · outlier bounds {_bounds(feature.outlier_bounds)}")
    if feature.new_categories:
        counted = Text(", ").join(
            Text.assemble(safe_text(name), f" ({format_count(count)})")
            for name, count in feature.new_categories
        )
        detail.append_text(Text.assemble(" · new categories ", counted))
    return detail


def _bounds(bounds: tuple[float, float] | None) -> str:
    if bounds is None:
        return MISSING
    low, high = bounds
    return f"[{format_statistic(low)}, {format_statistic(high)}]"


def _remote_summary(figures: RemoteFigures) -> Text:
    """`score 0.950 · missing 1.20 % · outliers 0.30 %`, or that none is exported."""
    figures_shown = [
        ("score", figures.quality_score, lambda v: f"{v:.3f}"),
        ("missing", figures.missing_rate, format_percent),
        ("outliers", figures.outlier_rate, format_percent),
    ]
    if all(value is None for _, value, _ in figures_shown):
        return Text("data quality: not exported")
    return Text(" · ".join(
        f"{name} {MISSING if value is None or not math.isfinite(value) else written(value)}"
        for name, value, written in figures_shown))
