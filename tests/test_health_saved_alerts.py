"""`neural-tui health` on local models judges the `[health]` checks and the SLO budgets, never
the alerting's saved state: `state.json` is rewritten only on change, so a stopped console's
firing alerts would otherwise fail `health` for ever."""

from __future__ import annotations

import json
import time
from pathlib import Path

from neural_tui import ModelLogger
from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.store import STATE_FILE, alerts_folder, read_saved_view
from neural_tui.cli import main
from neural_tui.config import AlertRuleSection, AlertsSection, Settings
from neural_tui.runtime.snapshot import IngestStats, Snapshot
from tests.factories import model_snapshot

CONFIG = """[storage]
path = 'data'

[[alerts.rules]]
name = "slow"
when = "p95_latency_ms > 500"
severity = "critical"
"""


def a_stopped_console_left_a_critical_alert_firing(storage: Path) -> None:
    """The alerting as a console ran it: a critical alert fired, then the console stopped."""
    rule = AlertRuleSection(name="slow", when="p95_latency_ms > 500", severity="critical")
    start = time.time() - 600
    engine = AlertEngine(Settings(alerts=AlertsSection(rules=(rule,))), storage,
                         clock=lambda: start)
    engine.load()
    slow = model_snapshot("fraud", version="1.0", latency_p95_ms=800.0)
    for second in range(0, 100, 10):
        engine.on_snapshot(Snapshot(generated_at=start + second, models=(slow,),
                                    ingest=IngestStats(0, {})))
    engine.close()


def test_a_stopped_consoles_firing_critical_alert_does_not_fail_health(tmp_path, capsys):
    storage = tmp_path / "data"
    with ModelLogger("fraud", "1.0", storage_path=storage) as logger:
        for i in range(50):
            logger.log_prediction(f"p{i}", {"x": float(i)}, 1, latency_ms=20.0)
    a_stopped_console_left_a_critical_alert_firing(storage)
    assert (alerts_folder(storage) / STATE_FILE).exists()
    saved = read_saved_view(storage, time.time()).current
    assert [(e.state, e.alert.labels["severity"]) for e in saved] == [("firing", "critical")]
    config = tmp_path / "neural-tui.toml"
    config.write_text(CONFIG, encoding="utf-8")

    code = main(["health", "--config", str(config), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert (code, report["healthy"], report["problems"]) == (0, True, [])
    (model,) = report["models"]
    assert "critical_alert" not in {c["check"] for c in model["checks"]}


def test_health_still_fails_a_local_model_on_its_own_health_checks(tmp_path, capsys):
    storage = tmp_path / "data"
    with ModelLogger("fraud", "1.0", storage_path=storage) as logger:
        for i in range(50):
            logger.log_prediction(f"p{i}", {"x": float(i)}, 1, latency_ms=800.0)
    a_stopped_console_left_a_critical_alert_firing(storage)
    config = tmp_path / "neural-tui.toml"
    config.write_text(CONFIG + "\n[health]\nmax_latency_p95_ms = 500\n", encoding="utf-8")

    code = main(["health", "--config", str(config), "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (model,) = report["models"]
    assert [c["check"] for c in model["checks"] if c["status"] == "failed"] == [
        "max_latency_p95_ms"]
