"""A snapshot or alerts view still queued while the console closes (its screens gone) is
dropped, not an error on the way out."""

from __future__ import annotations

from factories import model_snapshot, snapshot
from fake_feed import FakeFeed

from neural_tui.alerts.view import AlertsView
from neural_tui.app.app import NeuralTuiApp
from neural_tui.app.messages import AlertsArrived, SnapshotArrived


def test_a_snapshot_arriving_when_no_screen_is_left_is_dropped() -> None:
    app = NeuralTuiApp(FakeFeed())
    assert not app.screen_stack
    app.on_snapshot_arrived(SnapshotArrived(snapshot(model_snapshot("churn"))))
    app.on_alerts_arrived(AlertsArrived(AlertsView.empty()))
