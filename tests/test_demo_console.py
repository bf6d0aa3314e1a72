"""The demo console's alerting: the demo's drift is seen to fire an alert unless the user's
config brings rules of its own."""

from __future__ import annotations

from pathlib import Path

from neural_tui.config import Settings, load_settings
from neural_tui.console import DEMO_DRIFT_RULE, demo_settings


def test_a_demo_without_alert_rules_runs_the_drift_rule_with_no_wait() -> None:
    rules = demo_settings(Settings()).alerts.rules
    assert rules == (DEMO_DRIFT_RULE,)
    assert rules[0].when == "drifted"
    assert rules[0].for_ == 0


def test_a_demo_whose_config_names_rules_runs_those_alone(tmp_path: Path) -> None:
    config = tmp_path / "neural-tui.toml"
    config.write_text('[[alerts.rules]]\nname = "slow"\nwhen = "p95_latency_ms > 500"\n',
                      encoding="utf-8")
    settings = load_settings(config)
    assert [rule.name for rule in demo_settings(settings).alerts.rules] == ["slow"]
