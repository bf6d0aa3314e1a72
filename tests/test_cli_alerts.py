"""`neural-tui alerts`: the alerts the running alerting saved, filtered and shown safely; a
silence written by the command and picked up by a running engine; lifting it; and a test
notification whose outcome sets the exit code."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import pytest
from alert_receivers import HttpReceiver
from factories import model_snapshot

import neural_tui.alerts.engine as engine_module
from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.store import load_silences
from neural_tui.alerts.view import DeliveryRecord
from neural_tui.alerts_report import parse_since
from neural_tui.cli import main
from neural_tui.config import load_settings
from neural_tui.errors import UsageError
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC."""
HOSTILE_MODEL = "[bold red]churn\x1b[31m"

CONFIG = """
[storage]
path = "monitoring_data"

[alerts]
group_wait = "0s"

[alerts.channels.pager]
type = "file"
path = "pages.jsonl"

[[alerts.rules]]
name = "slow"
when = "p95_latency_ms > 500"
severity = "critical"
channels = ["pager"]
summary = "p95 {p95_latency_ms} ms on {model}"

[[alerts.rules]]
name = "errors"
when = "error_rate > 0.05"
severity = "warning"
channels = ["pager"]
"""


class Sent:
    """The engine's delivery in these tests: keeps what it was handed."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def submit(self, notification: Notification) -> None:
        self.notifications.append(notification)


def at(moment: float, *models: ModelSnapshot) -> Snapshot:
    return Snapshot(generated_at=moment, models=models, ingest=IngestStats(0, {}))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "monitoring_data").mkdir()
    return path


def run_incident(config: Path) -> None:
    """What a running alerting leaves behind: fraud slow since T0+10 (its page sent), the
    hostile model's error rate high from T0+10 to T0+300, then resolved."""
    settings = load_settings(config)
    sent = Sent()
    engine = AlertEngine(settings, settings.storage.path, delivery=sent, clock=lambda: T0)
    engine.load()
    for second in range(10, 400, 10):
        errors = 0.2 if second < 300 else 0.0
        engine.on_snapshot(at(T0 + second, model_snapshot("fraud", latency_p95_ms=812.0),
                              model_snapshot(HOSTILE_MODEL, error_rate=errors)))
        for notification in sent.notifications:
            engine.record_delivery(notification, DeliveryRecord(
                "pager", "sent", notification.created_at, 1))
        sent.notifications.clear()
    engine.close()


def alerts_json(config: Path, *options: str, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["alerts", "--config", str(config), "--json", *options]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_saved_alerts_are_listed_current_first_with_their_notifications(config, capsys):
    run_incident(config)
    listed = alerts_json(config, capsys=capsys)["alerts"]
    assert [(a["alertname"], a["state"], a["model"]) for a in listed] == [
        ("slow", "firing", "fraud"), ("errors", "resolved", HOSTILE_MODEL)]
    slow, errors = listed
    assert slow["severity"] == "critical"
    assert slow["since"] == T0 + 10
    assert slow["values"] == {"p95_latency_ms": 812.0}
    assert slow["annotations"]["summary"] == "p95 812 ms on fraud"
    assert [(d["channel"], d["outcome"]) for d in slow["deliveries"]] == [("pager", "sent")]
    assert errors["ends_at"] == T0 + 300


@pytest.mark.parametrize(("options", "names"), [
    (["--severity", "critical"], ["slow"]),
    (["--severity", "warning,info"], ["errors"]),
    (["--severity", "info", "--severity", "critical"], ["slow"]),
    (["--model", "fraud"], ["slow"]),
    (["--model", HOSTILE_MODEL], ["errors"]),
    (["--model", "nobody"], []),
    (["--since", "2026-01-01T00:04:59Z"], ["slow", "errors"]),
    (["--since", "2026-01-01T00:05:01Z"], ["slow"]),
    (["--since", "2026-01-01 00:05:01"], ["slow"]),
    (["--since", str(T0 + 301)], ["slow"]),
])
def test_severity_model_and_since_choose_what_is_listed(config, capsys, options, names):
    run_incident(config)
    listed = alerts_json(config, *options, capsys=capsys)["alerts"]
    assert [a["alertname"] for a in listed] == names


def test_a_duration_since_counts_back_from_now() -> None:
    assert parse_since("2h", 10_000.0) == 10_000.0 - 7200
    assert parse_since("1d12h", 200_000.0) == 200_000.0 - 129_600


@pytest.mark.parametrize(("since", "message"), [
    ("yesterday", "--since 'yesterday': not a duration (2h, 30m, 1d12h), an ISO time"),
    ("9" * 400, "--since '" + "9" * 40 + "': not a duration"),
    ("nan", "--since 'nan': not a duration"),
    ("99999d", "--since '99999d': at most 3650d back"),
    ("2026-13-01T00:00:00Z", "--since '2026-13-01T00:00:00Z': not a duration"),
])
def test_a_bad_since_is_one_line_and_exit_2(config, capsys, since, message):
    assert main(["alerts", "--config", str(config), "--since", since]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_a_bad_severity_is_one_line_and_exit_2_also_as_json(config, capsys):
    assert main(["alerts", "--config", str(config), "--severity", "loud", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == ("neural-tui: --severity 'loud': must be one of info, warning, "
                            "critical\n")
    assert json.loads(captured.out)["exit_code"] == 2


def test_a_missing_storage_is_named_and_exit_2(tmp_path, capsys):
    assert main(["alerts", "--storage", str(tmp_path / "nowhere")]) == 2
    assert "nowhere: storage directory does not exist" in capsys.readouterr().err


def test_the_table_shows_hostile_text_literally_and_no_escape_reaches_the_terminal(
    config, capsys, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "250")
    run_incident(config)
    assert main(["alerts", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "[bold red]churn\u241b[31m" in out
    slow_row = next(line for line in out.splitlines() if "slow" in line)
    for cell in ("critical", "firing", "fraud", "2026-01-01 00:00:10 UTC", "p95 812 ms on fraud",
                 "pager sent"):
        assert cell in slow_row


def test_without_saved_state_the_table_says_there_are_no_alerts(config, capsys):
    assert main(["alerts", "--config", str(config)]) == 0
    assert "no alerts" in capsys.readouterr().out


# --- silence and unsilence ------------------------------------------------------------------


def silence(config: Path, *options: str) -> int:
    return main(["alerts", "silence", "--config", str(config), *options])


def test_silence_writes_a_silence_for_the_rule_on_the_model(config, capsys):
    run_incident(config)
    assert silence(config, "--rule", "slow", "--model", "fraud", "--for", "2h",
                   "--comment", "deploying a fix", "--author", "dana", "--json") == 0
    written = json.loads(capsys.readouterr().out)
    assert written["matchers"] == {"alertname": "slow", "model": "fraud"}
    assert written["ends_at"] - written["starts_at"] == 7200
    assert (written["comment"], written["author"]) == ("deploying a fix", "dana")
    saved = load_silences(config.parent / "monitoring_data" / "alerts")
    assert list(saved) == [written["id"]]
    listed = alerts_json(config, capsys=capsys)["silences"]
    assert [s["id"] for s in listed] == [written["id"]]


def test_a_silence_without_a_model_mutes_the_rule_everywhere(config, capsys):
    assert silence(config, "--rule", "slow", "--for", "30m", "--comment", "x", "--json") == 0
    assert json.loads(capsys.readouterr().out)["matchers"] == {"alertname": "slow"}


def test_a_silence_for_a_rule_nobody_knows_is_written_with_a_warning(config, capsys):
    assert silence(config, "--rule", "sloww", "--for", "1h", "--comment", "typo?") == 0
    captured = capsys.readouterr()
    assert "no configured rule or saved alert is named 'sloww'" in captured.err
    assert "silenced alertname=sloww until" in captured.out


@pytest.mark.parametrize(("options", "message"), [
    (["--for", "soon", "--comment", "x"], "duration 'soon' is not like 2h, 90m or 1d12h"),
    (["--for", "0m", "--comment", "x"], "the duration must be from 1m to 90d"),
    (["--for", "91d", "--comment", "x"], "the duration must be from 1m to 90d"),
    (["--for", "9" * 400 + "d", "--comment", "x"], "is not like 2h, 90m or 1d12h"),
    (["--for", "1h", "--comment", "  "], "a silence needs a comment saying why"),
    (["--for", "1h", "--comment", "x" * 1001], "the comment is longer than 1000 characters"),
])
def test_a_bad_silence_is_refused_in_one_line_and_nothing_is_written(config, capsys, options,
                                                                     message):
    assert silence(config, "--rule", "slow", *options) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert not (config.parent / "monitoring_data" / "alerts" / "silences").exists()


def test_the_engine_keeps_no_silence_limits_of_its_own() -> None:
    assert not hasattr(engine_module, "MAX_SILENCE_SECONDS")
    assert not hasattr(engine_module, "MAX_SILENCE_TEXT")


async def test_a_running_engine_picks_up_the_silence_and_later_its_lifting(config, capsys,
                                                                          monkeypatch):
    monkeypatch.setattr(engine_module, "SILENCES_RELOAD_SECONDS", 0.05)
    settings = load_settings(config)
    engine = AlertEngine(settings, settings.storage.path, delivery=Sent())
    engine.load()

    async def traffic() -> None:
        """The runtime's snapshots: fraud slow, on the wall clock, twenty times a second."""
        while True:
            engine.on_snapshot(at(time.time(), model_snapshot("fraud", latency_p95_ms=900.0)))
            await asyncio.sleep(0.05)

    feeding = asyncio.create_task(traffic())
    watching = asyncio.create_task(engine.run(every_seconds=0.05))
    await until(lambda: bool(engine.view.current))
    try:
        assert await asyncio.to_thread(silence, config, "--rule", "slow", "--model", "fraud",
                                       "--for", "1h", "--comment", "deploy", "--json") == 0
        silence_id = json.loads(capsys.readouterr().out)["id"]
        await until(lambda: engine.view.current[0].silenced_by == silence_id)
        assert await asyncio.to_thread(main, ["alerts", "unsilence", "--config", str(config),
                                              silence_id]) == 0
        assert f"lifted silence {silence_id}" in capsys.readouterr().out
        await until(lambda: engine.view.current[0].silenced_by is None)
    finally:
        for task in (watching, feeding):
            task.cancel()
        await asyncio.gather(watching, feeding, return_exceptions=True)


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the engine never saw it"
        await asyncio.sleep(0.02)


def test_unsilencing_an_unknown_id_names_it_and_the_known_ones(config, capsys):
    assert silence(config, "--rule", "slow", "--for", "1h", "--comment", "x", "--json") == 0
    known = json.loads(capsys.readouterr().out)["id"]
    assert main(["alerts", "unsilence", "--config", str(config), "../../etc/passwd"]) == 2
    err = capsys.readouterr().err
    assert "no silence '../../etc/passwd'" in err
    assert f"(known: {known})" in err


# --- test CHANNEL ---------------------------------------------------------------------------


def test_a_test_notification_through_the_file_channel_is_sent_and_exit_0(config, capsys):
    assert main(["alerts", "test", "pager", "--config", str(config)]) == 0
    assert "test notification to pager: sent" in capsys.readouterr().out
    (line,) = (config.parent / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    assert "NeuralTuiTest" in line


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_test_notification_that_fails_reports_why_and_exits_1(config, capsys):
    config.write_text(CONFIG + f"""
[alerts.channels.hook]
type = "webhook"
url = "http://127.0.0.1:{closed_port()}/hook"
timeout_seconds = 2
""", encoding="utf-8")
    assert main(["alerts", "test", "hook", "--config", str(config), "--json"]) == 1
    record = json.loads(capsys.readouterr().out)
    assert record["channel"] == "hook"
    assert record["outcome"] in ("retrying", "failed")
    assert record["detail"]


def test_testing_a_channel_that_is_not_configured_names_the_known_ones(config, capsys):
    assert main(["alerts", "test", "slack", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no channel 'slack' in [alerts.channels] (known: pager)" in err
    assert err.count("\n") == 1


def test_usage_errors_of_an_action_exit_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["alerts", "silence", "--rule", "slow"])
    assert exit_info.value.code == 2


def test_parse_since_refuses_a_time_out_of_range() -> None:
    with pytest.raises(UsageError, match="not a duration"):
        parse_since("-5", 1000.0)


def test_testing_an_alertmanager_channel_leaves_the_running_alertings_state_alone(
    config, capsys
):
    with HttpReceiver() as receiver:
        config.write_text(CONFIG + f"""
[alerts.channels.am]
type = "alertmanager"
url = "{receiver.url}"
""", encoding="utf-8")
        assert main(["alerts", "test", "am", "--config", str(config)]) == 0
        (posted,) = receiver.received
    assert posted.path == "/api/v2/alerts"
    assert posted.json()[0]["labels"]["alertname"] == "NeuralTuiTest"
    assert "test notification to am: sent" in capsys.readouterr().out
    assert not (config.parent / "monitoring_data" / "alerts").exists()


def test_a_failed_test_notification_says_it_is_not_retried(config, capsys):
    """The test is one attempt, never queued: "retrying" would promise a delivery later."""
    config.write_text(CONFIG + f"""
[alerts.channels.hook]
type = "webhook"
url = "http://127.0.0.1:{closed_port()}/hook"
timeout_seconds = 2
""", encoding="utf-8")
    assert main(["alerts", "test", "hook", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("test notification to hook: failed (not retried): ")
    assert "retrying" not in out
