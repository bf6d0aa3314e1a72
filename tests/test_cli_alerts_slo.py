"""`neural-tui alerts silence --slo NAME`: every SLO's alerts share the rule names
`slo_burn_rate` and `slo_no_data`, so a silence may name the SLO. A running alerting then mutes
that SLO's alerts only; the SLO shows in the listings; silence and state files written before
`--slo` existed still load; a name that can name no SLO is refused in one line."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest
from factories import model_snapshot

from neural_tui.alerts.engine import AlertEngine
from neural_tui.alerts.notification import Notification
from neural_tui.alerts.store import load_silences
from neural_tui.cli import main
from neural_tui.config import load_settings
from neural_tui.engines.slo import SLOAlert, SLOSpec, SLOStatus
from neural_tui.runtime.snapshot import IngestStats, ModelSnapshot, Snapshot

T0 = 1_767_225_600.0
"""2026-01-01 00:00:00 UTC: when the saved alert of the old state file fired."""

CONFIG = """
[storage]
path = "monitoring_data"

[alerts]
group_wait = "0s"

[alerts.channels.pager]
type = "file"
path = "pages.jsonl"

[[slo]]
name = "availability"
type = "availability"
target = 0.999

[[slo]]
name = "latency-250ms"
type = "latency"
target = 0.99
threshold_ms = 250
"""


class Sent:
    """The engine's delivery in these tests: keeps what it was handed."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    def submit(self, notification: Notification) -> None:
        self.notifications.append(notification)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "monitoring_data").mkdir()
    return path


def alerts_folder(config: Path) -> Path:
    return config.parent / "monitoring_data" / "alerts"


def burn(slo: str, model: str) -> SLOAlert:
    return SLOAlert(name="slo_burn_rate", severity="page",
                    labels={"slo": slo, "model": model, "severity": "page",
                            "long_window": "1h", "short_window": "5m"},
                    summary=f"{slo} burns 20x its budget", long_burn_rate=20.0,
                    short_burn_rate=25.0)


def no_data(slo: str, model: str) -> SLOAlert:
    return SLOAlert(name="slo_no_data", severity="ticket",
                    labels={"slo": slo, "model": model, "severity": "ticket"},
                    summary="no SLO events in 30d although the model served requests")


def status(slo: str, model: str, *alerts: SLOAlert) -> SLOStatus:
    spec = SLOSpec(name=slo, type="availability", target=0.999, window_seconds=30 * 86_400)
    return SLOStatus(spec=spec, model=model, at=T0, good=900, total=1000, sli=0.9,
                     compliance=0.9, error_budget_remaining=-99.0, burn_rates={"1h": 20.0},
                     time_to_exhaustion_seconds=None, breaches=(), alerts=alerts)


def burning_models() -> tuple[ModelSnapshot, ...]:
    """fraud burns both its SLOs; churn's availability has no data; churn's latency burns."""
    fraud = replace(model_snapshot("fraud"), slos=(
        status("availability", "fraud", burn("availability", "fraud")),
        status("latency-250ms", "fraud", burn("latency-250ms", "fraud"))))
    churn = replace(model_snapshot("churn"), slos=(
        status("availability", "churn", no_data("availability", "churn")),
        status("latency-250ms", "churn", burn("latency-250ms", "churn"))))
    return fraud, churn


def evaluate(config: Path) -> tuple[AlertEngine, Sent]:
    """A running alerting (started after the silence was written, so it loads it) sees the
    SLO statuses for half a minute from now (the silence began on the wall clock)."""
    settings = load_settings(config)
    sent = Sent()
    start = time.time()
    engine = AlertEngine(settings, settings.storage.path, delivery=sent, clock=lambda: start)
    engine.load()
    for second in range(0, 40, 10):
        engine.on_snapshot(Snapshot(generated_at=start + second, models=burning_models(),
                                    ingest=IngestStats(0, {})))
    return engine, sent


def silence(config: Path, *options: str) -> int:
    return main(["alerts", "silence", "--config", str(config), "--for", "2h",
                 "--comment", "maintenance", "--author", "dana", *options])


def muted(engine: AlertEngine) -> set[tuple[str, str, str]]:
    return {(e.alert.labels["alertname"], e.alert.labels["slo"], e.alert.labels["model"])
            for e in engine.view.current if e.silenced_by is not None}


def paged(sent: Sent) -> set[tuple[str, str, str]]:
    return {(a.labels["alertname"], a.labels["slo"], a.labels["model"])
            for n in sent.notifications for a in n.alerts}


EVERY_ALERT = {("slo_burn_rate", "availability", "fraud"),
               ("slo_burn_rate", "latency-250ms", "fraud"),
               ("slo_no_data", "availability", "churn"),
               ("slo_burn_rate", "latency-250ms", "churn")}


@pytest.mark.parametrize(("options", "silenced"), [
    (["--slo", "availability"],
     {("slo_burn_rate", "availability", "fraud"), ("slo_no_data", "availability", "churn")}),
    (["--slo", "availability", "--model", "fraud"],
     {("slo_burn_rate", "availability", "fraud")}),
    (["--slo", "latency-250ms", "--model", "fraud"],
     {("slo_burn_rate", "latency-250ms", "fraud")}),
    (["--rule", "slo_no_data", "--slo", "availability"],
     {("slo_no_data", "availability", "churn")}),
    (["--rule", "slo_burn_rate", "--slo", "availability"],
     {("slo_burn_rate", "availability", "fraud")}),
    (["--rule", "slo_burn_rate", "--model", "fraud"],
     {("slo_burn_rate", "availability", "fraud"), ("slo_burn_rate", "latency-250ms", "fraud")}),
])
def test_a_silence_naming_an_slo_mutes_that_slos_alerts_and_pages_the_others(
    config, capsys, options, silenced
):
    assert silence(config, *options) == 0
    assert capsys.readouterr().err == ""
    engine, sent = evaluate(config)
    assert muted(engine) == silenced
    assert paged(sent) == EVERY_ALERT - silenced
    engine.close()


def test_the_slo_is_in_the_silence_and_in_both_listings(config, capsys, monkeypatch):
    assert silence(config, "--slo", "availability", "--model", "fraud", "--json") == 0
    written = json.loads(capsys.readouterr().out)
    assert written["matchers"] == {"slo": "availability", "model": "fraud"}
    assert written["slo"] == "availability"
    evaluate(config)[0].close()
    assert main(["alerts", "--config", str(config), "--json", "--model", "fraud"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {(a["alertname"], a["slo"], a["silenced_by"]) for a in listed["alerts"]} == {
        ("slo_burn_rate", "availability", written["id"]), ("slo_burn_rate", "latency-250ms", None)}
    assert [(s["id"], s["slo"]) for s in listed["silences"]] == [(written["id"], "availability")]
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["alerts", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "slo_burn_rate availability" in table
    assert "model=fraud, slo=availability" in table


def test_the_text_reply_names_the_slo(config, capsys):
    assert silence(config, "--slo", "availability") == 0
    assert capsys.readouterr().out.startswith("silenced slo=availability until ")


def test_an_slo_nobody_configured_is_written_with_a_warning(config, capsys):
    assert silence(config, "--slo", "availabilty") == 0
    captured = capsys.readouterr()
    assert captured.err == ("neural-tui: warning: no configured SLO or saved alert is named "
                            "'availabilty': the silence mutes nothing until one is\n")
    assert len(load_silences(alerts_folder(config))) == 1


def test_a_rule_that_raises_no_alert_of_the_slo_is_written_with_a_warning(config, capsys):
    config.write_text(CONFIG + """
[[alerts.rules]]
name = "slow"
when = "p95_latency_ms > 500"
""", encoding="utf-8")
    assert silence(config, "--rule", "slow", "--slo", "availability") == 0
    assert capsys.readouterr().err == (
        "neural-tui: warning: rule 'slow' raises no alert of SLO 'availability' (an SLO's rules "
        "are slo_burn_rate and slo_no_data): the silence mutes nothing until one does\n")


LABELLED_RULE = """
[[alerts.rules]]
name = "slow"
when = "p95_latency_ms > 500"
labels = { slo = "availability" }
"""
"""A rule may set `slo` in its labels: it then counts among that SLO's alerts."""


def test_a_rule_labelled_with_the_slo_is_muted_with_the_slo(config, capsys):
    config.write_text(CONFIG + LABELLED_RULE, encoding="utf-8")
    assert silence(config, "--slo", "availability", "--json") == 0
    silence_id = json.loads(capsys.readouterr().out)["id"]
    settings = load_settings(config)
    start = time.time()
    engine = AlertEngine(settings, settings.storage.path, delivery=Sent(), clock=lambda: start)
    engine.load()
    engine.on_snapshot(Snapshot(generated_at=start + 1, ingest=IngestStats(0, {}),
                                models=(model_snapshot("fraud", latency_p95_ms=900.0),)))
    ((entry,),) = (engine.view.current,)
    assert (entry.alert.labels["alertname"], entry.silenced_by) == ("slow", silence_id)
    engine.close()


def test_a_rule_labelled_with_the_slo_is_silenced_with_it_without_a_warning(config, capsys):
    config.write_text(CONFIG + LABELLED_RULE, encoding="utf-8")
    assert silence(config, "--rule", "slow", "--slo", "availability") == 0
    assert capsys.readouterr().err == ""


def test_a_silence_names_a_rule_an_slo_or_both(config, capsys):
    assert silence(config, "--model", "fraud") == 2
    captured = capsys.readouterr()
    assert captured.err == ("neural-tui: alerts silence: name what to mute: --rule NAME, "
                            "--slo NAME or both\n")
    assert not (alerts_folder(config) / "silences").exists()


@pytest.mark.parametrize(("options", "message"), [
    (["--slo", ""], "the SLO name is empty"),
    (["--slo", " \t "], "the SLO name is empty"),
    (["--slo", "availability\x1b[2J"], "the SLO name has a control character (U+001B)"),
    (["--slo", "avail\nability"], "the SLO name has a control character (U+000A)"),
    (["--slo", "avail\x85ability"], "the SLO name has a control character (U+0085)"),
    (["--slo", "a" * 10_000], "the SLO name is longer than 200 characters"),
    (["--slo", "[bold]x[/]\x00"], "the SLO name has a control character (U+0000)"),
    (["--rule", "", "--slo", "availability"], "the rule name is empty"),
])
def test_a_name_that_can_name_no_slo_is_refused_in_one_line_and_nothing_is_written(
    config, capsys, options, message
):
    assert silence(config, *options) == 2
    err = capsys.readouterr().err
    assert err == f"neural-tui: alerts silence: {message}\n"
    assert not (alerts_folder(config) / "silences").exists()


def test_an_slo_name_is_kept_exactly_as_typed(config, capsys):
    """The label it matches is exact: a stray space is kept (and warned of), not trimmed."""
    assert silence(config, "--slo", "availability ", "--json") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["matchers"] == {"slo": "availability "}
    assert "no configured SLO or saved alert is named 'availability '" in captured.err


# --- files written before --slo -------------------------------------------------------------

OLD_SILENCE = {"id": "0123456789abcdef", "matchers": {"alertname": "slo_burn_rate",
                                                      "model": "fraud"},
               "starts_at": T0, "ends_at": 4_102_444_800.0, "comment": "deploy",
               "author": "dana"}
"""Until 2100: still on when the tests run."""
OLD_STATE = {
    "format": 1,
    "alerts": [{
        "labels": {"slo": "availability", "model": "fraud", "severity": "critical",
                   "long_window": "1h", "short_window": "5m", "alertname": "slo_burn_rate",
                   "version": "1.0.0"},
        "annotations": {"summary": "availability burns 20x its budget"},
        "values": {"long_burn_rate": 20.0, "short_burn_rate": 25.0},
        "active_since": T0 - 30, "fired_at": T0 - 30, "for_seconds": 0.0,
        "repeat_seconds": None, "channels": ["pager"], "acknowledged_by": None,
        "deliveries": [{"channel": "pager", "outcome": "sent", "at": T0 - 30, "attempts": 1,
                        "detail": ""}],
    }],
    "groups": [], "sent": [], "resolved": [],
}


def write_old_files(config: Path) -> None:
    folder = alerts_folder(config)
    (folder / "silences").mkdir(parents=True)
    (folder / "state.json").write_text(json.dumps(OLD_STATE), encoding="utf-8")
    (folder / "silences" / "0123456789abcdef.json").write_text(json.dumps(OLD_SILENCE, indent=1),
                                                               encoding="utf-8")


def test_a_state_and_silence_written_before_slo_silences_load_and_list(config, capsys):
    write_old_files(config)
    assert main(["alerts", "--config", str(config), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    ((alert,),) = (listed["alerts"],)
    assert (alert["alertname"], alert["slo"], alert["state"]) == (
        "slo_burn_rate", "availability", "firing")
    assert listed["silences"][0]["matchers"] == OLD_SILENCE["matchers"]
    assert listed["silences"][0]["slo"] is None
    assert not list(alerts_folder(config).rglob("*.corrupt"))


def test_a_running_alerting_keeps_an_old_silence_muting_every_slo_of_its_rule(config):
    write_old_files(config)
    engine, _ = evaluate(config)
    assert muted(engine) == {("slo_burn_rate", "availability", "fraud"),
                             ("slo_burn_rate", "latency-250ms", "fraud")}
    engine.close()
