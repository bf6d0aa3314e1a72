"""A console to look at in every terminal: a fleet of three models (one filling its reference,
one with fourteen features and four SLOs, one quiet) with firing alerts, built for the layout,
terminal and theme tests."""

from __future__ import annotations

from typing import Any

from alert_views import alert_entry, alerts_view
from factories import (
    FIXED_TIME,
    drift_report,
    drifting_model,
    feature_drift,
    feature_quality,
    four_slos,
    model_snapshot,
    performance_report,
    quality_report,
    snapshot,
)
from fake_alerting import FakeAlerting
from fake_feed import FakeFeed
from textual.pilot import Pilot

from neural_tui.app.app import NeuralTuiApp
from neural_tui.config import ConsoleSection
from neural_tui.runtime.snapshot import Snapshot

FEATURES = 14
"""More features than an 80x24 table can show, so a compact screen must scroll them."""
SCREENS = ("overview", "drift", "quality", "slo", "alerts", "silence", "help")
"""Every screen of the console (the silence dialog opens over the alerts screen)."""


def fleet() -> Snapshot:
    """The issue's fleet: a low accuracy on few labels, a reference still filling, a quiet
    model; the first model has many features and SLOs."""
    features = [feature_drift(f"feature_{i:02d}", severity=i / 10,
                              drifted=i == FEATURES - 1) for i in range(FEATURES)]
    return snapshot(
        drifting_model(
            "fraud",
            drift=drift_report(*features, prediction=feature_drift("prediction"),
                               top_probability=feature_drift("top_probability")),
            quality=quality_report(*[feature_quality(f"feature_{i:02d}", severity=i / 100)
                                     for i in range(FEATURES)]),
            performance=performance_report(n_labelled=120, accuracy=0.4194),
            slos=four_slos("fraud"),
        ),
        model_snapshot("churn", version="2.3.1", error_rate=0.12, throughput_rps=5.0,
                       errors_total={"TimeoutError": 1_200, "ValueError": 40},
                       reference_filling=(617, 1_000),
                       analysis_waiting="reference 617/1000 records"),
        model_snapshot("recommender", version="0.9"),
    )


def alerting() -> FakeAlerting:
    return FakeAlerting(alerts_view(
        alert_entry("drift_high", model="fraud", summary="drift score 0.31 above 0.2"),
        alert_entry("p95_latency", model="churn", severity="critical", since=FIXED_TIME - 60),
    ))


def console(look: ConsoleSection | None = None, fake: FakeAlerting | None = None,
            initial: Snapshot | None = None) -> NeuralTuiApp:
    fake = fake or alerting()
    return NeuralTuiApp(FakeFeed(initial or fleet()), source_label="monitoring_data",
                        alerts=fake.provide, alert_commands=fake, user="dana", look=look)


async def open_view(pilot: Pilot[Any], view: str) -> None:
    """Let the overview settle, then open `view` (a drill-down: of the model "fraud")."""
    app = pilot.app
    assert isinstance(app, NeuralTuiApp)
    await pilot.pause()
    if view in ("drift", "quality", "slo", "latency"):
        fraud = next(model for model in app.snapshot.models if model.name == "fraud")
        app.open_drill_down(fraud.uid, view)
    elif view == "help":
        await app.run_action("help")
    elif view != "overview":
        await app.run_action("open_alerts")
        await pilot.pause()
        if view == "silence":
            await app.screen.run_action("silence")
    await pilot.pause()
    await pilot.pause()
