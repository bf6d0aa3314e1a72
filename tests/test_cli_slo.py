"""`neural-tui slo` and the SLO checks of `neural-tui health`, on storage written by the
producer with chosen record times, against figures computed by hand."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neural_tui import ModelLogger
from neural_tui.cli import main
from neural_tui.engines.slo import Breach, SLOAlert, SLOSpec, SLOStatus
from neural_tui.slo_report import NO_SLO, SLORow, row_entry

HOUR_SLO = """
[[slo]]
name = "availability"
type = "availability"
target = 0.99
window = "1h"
"""


def minute_ago(minutes: int) -> float:
    """A whole minute of record time `minutes` before now, so records land in known minutes."""
    return (math.floor(time.time() / 60) - minutes) * 60.0


def write_traffic(storage: Path, model: str, start: float, n: int, *, span: int,
                  failed: set[int] | None = None) -> None:
    """`n` requests evenly over `span` seconds from `start` (a record on a minute's edge lands
    exactly on it); those numbered in `failed` fail."""
    failed = failed or set()
    stamps: Iterator[float] = (start + i * span / n for i in range(n))
    with ModelLogger(model, "1.0", storage_path=storage,
                      clock=lambda: next(stamps)) as monitor:
        for i in range(n):
            if i in failed:
                monitor.record_error("timeout", latency_ms=5.0)
            else:
                monitor.log_prediction(f"{model}-{start}-{i}", {"x": float(i % 10)}, 0,
                                       latency_ms=5.0)


def write_half_budget(storage: Path, model: str = "fraud") -> None:
    """10,000 requests over the 50 minutes before the last ten, 200 a minute, of which 50 fail:
    one in each minute, so every window of whole minutes has 0.5% bad events."""
    write_traffic(storage, model, minute_ago(60), 10_000, span=3000,
                  failed=set(range(100, 10_000, 200)))


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str,
        *args: str) -> tuple[int, str]:
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n{config}", encoding="utf-8")
    code = main([*args, "--config", str(path)])
    return code, capsys.readouterr().out


def slo_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str,
             *args: str) -> tuple[int, dict[str, Any]]:
    code, out = run(capsys, tmp_path, config, "slo", "--json", *args)
    return code, json.loads(out)


def test_fifty_failures_in_ten_thousand_against_99_percent_leave_half_the_budget(
        tmp_path, capsys):
    write_half_budget(tmp_path / "data")

    code, report = slo_json(capsys, tmp_path, HOUR_SLO)

    assert code == 0
    (entry,) = report["slos"]
    assert (entry["name"], entry["type"], entry["model"]) == ("availability", "availability",
                                                              "fraud")
    assert (entry["target"], entry["objective"], entry["window"]) == (0.99, 0.99, "1h")
    assert (entry["good"], entry["total"]) == (9_950, 10_000)
    assert entry["compliance"] == pytest.approx(0.995)
    assert entry["sli"] == pytest.approx(0.995)
    # 1 - (50 / 10,000) / (1 - 0.99) = 1 - 0.5
    assert entry["error_budget_remaining"] == pytest.approx(0.5)
    assert entry["burn_rates"]
    assert entry["burn_rates"] == pytest.approx(dict.fromkeys(entry["burn_rates"], 0.5))
    assert entry["exhausted"] is False
    assert entry["alerts"] == []
    assert entry["waiting"] is None


def test_the_table_shows_the_budget_left_and_each_burn_rate(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    write_half_budget(tmp_path / "data")

    code, out = run(capsys, tmp_path, HOUR_SLO, "slo")

    assert code == 0
    (line,) = [row for row in out.splitlines() if "availability" in row and "fraud" in row]
    assert "50.0%" in line
    assert "99.5%" in line
    assert "0.50" in line
    assert "ok" in line


def test_the_console_script_prints_the_slo_json(tmp_path):
    write_half_budget(tmp_path / "data")
    config = tmp_path / "c.toml"
    config.write_text(f"[storage]\npath = 'data'\n{HOUR_SLO}", encoding="utf-8")
    result = subprocess.run(
        [str(Path(sys.executable).with_name("neural-tui")), "slo", "--json", "--config",
         str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["slos"]
    assert entry["error_budget_remaining"] == pytest.approx(0.5)


def test_health_passes_while_half_the_budget_is_left(tmp_path, capsys):
    write_half_budget(tmp_path / "data")

    code, out = run(capsys, tmp_path, HOUR_SLO, "health", "--json")

    assert code == 0
    (model,) = json.loads(out)["models"]
    (check,) = [c for c in model["checks"] if c["check"] == "fail_on_slo"]
    assert check == {"check": "fail_on_slo", "status": "ok", "slo": "availability",
                     "detail": "SLO availability: 50.0% of the error budget left"}


def test_health_fails_on_an_exhausted_budget_naming_the_slo_and_the_model(tmp_path, capsys):
    write_traffic(tmp_path / "data", "fraud", minute_ago(40), 1_000, span=1200,
                  failed=set(range(0, 1_000, 34)))  # 30 of 1,000 fail: 3% against 1%

    code, out = run(capsys, tmp_path, HOUR_SLO, "health", "--json")

    assert code == 1
    report = json.loads(out)
    assert report["healthy"] is False
    (model,) = report["models"]
    assert model["name"] == "fraud"
    (check,) = [c for c in model["checks"] if c["check"] == "fail_on_slo"]
    assert check["status"] == "failed"
    assert check["slo"] == "availability"
    # 1 - 0.03 / 0.01 = -2: shown overspent, not clamped at 0
    assert check["detail"].startswith("SLO availability: error budget exhausted (-200.0% left)")
    assert check["detail"] in model["problems"]


def test_the_health_text_names_the_exhausted_slo_and_its_model(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    write_traffic(tmp_path / "data", "fraud", minute_ago(40), 1_000, span=1200,
                  failed=set(range(0, 1_000, 34)))

    code, out = run(capsys, tmp_path, HOUR_SLO, "health")

    assert code == 1
    (line,) = [row for row in out.splitlines() if "fail_on_slo" in row]
    assert line.startswith("UNHEALTHY  fraud 1.0")
    assert "SLO availability: error budget exhausted" in line


def test_fail_on_slo_false_turns_the_slo_checks_off(tmp_path, capsys):
    write_traffic(tmp_path / "data", "fraud", minute_ago(40), 1_000, span=1200,
                  failed=set(range(0, 1_000, 34)))

    code, out = run(capsys, tmp_path, f"[health]\nfail_on_slo = false\n{HOUR_SLO}", "health",
                    "--json")

    assert code == 0
    (model,) = json.loads(out)["models"]
    assert [c for c in model["checks"] if c["check"] == "fail_on_slo"] == []


def test_a_fast_burn_pages_and_fails_health_with_budget_left(tmp_path, capsys):
    """30,000 good requests two days ago, then 1,000 in the last hour of which 200 fail: the
    30-day budget is barely touched (1 - 200/31,000/0.01 = 0.355) but 1h and 5m burn at 20,
    past the page factor 14.4."""
    storage = tmp_path / "data"
    write_traffic(storage, "fraud", minute_ago(2 * 24 * 60), 30_000, span=30_000)
    write_traffic(storage, "fraud", minute_ago(60), 1_000, span=3600,
                  failed=set(range(0, 1_000, 5)))
    config = ('[[slo]]\nname = "availability"\ntype = "availability"\ntarget = 0.99\n'
              'window = "30d"\n')

    code, slo_report = slo_json(capsys, tmp_path, config)
    assert code == 0
    (entry,) = slo_report["slos"]
    assert entry["error_budget_remaining"] == pytest.approx(1 - (200 / 31_000) / 0.01)
    assert entry["paging"] is True
    (page,) = [a for a in entry["alerts"] if a["severity"] == "page"]
    assert page["labels"]["slo"] == "availability"
    assert page["labels"]["model"] == "fraud"
    assert (page["labels"]["long_window"], page["labels"]["short_window"]) == ("1h", "5m")

    code, out = run(capsys, tmp_path, config, "health", "--json")
    assert code == 1
    (model,) = json.loads(out)["models"]
    (check,) = [c for c in model["checks"] if c["check"] == "fail_on_slo"]
    assert check["status"] == "failed"
    assert page["summary"] in check["detail"]
    assert "exhausted" not in check["detail"]


def test_without_any_slo_the_report_says_so_and_succeeds(tmp_path, capsys):
    write_traffic(tmp_path / "data", "fraud", minute_ago(10), 10, span=10)

    code, out = run(capsys, tmp_path, "", "slo")
    assert code == 0
    assert out.strip() == NO_SLO

    code, report = slo_json(capsys, tmp_path, "")
    assert code == 0
    assert (report["slos"], report["note"]) == ([], NO_SLO)


def test_an_slo_of_a_model_without_records_is_listed_as_waiting(tmp_path, capsys):
    write_half_budget(tmp_path / "data")
    config = HOUR_SLO + ('[[slo]]\nname = "ghost-latency"\ntype = "latency"\ntarget = 0.9\n'
                         'threshold_ms = 250.0\nwindow = "7d"\nmodel = "ghost"\n')

    code, report = slo_json(capsys, tmp_path, config)

    assert code == 0
    ghost = next(e for e in report["slos"] if e["model"] == "ghost")
    assert ghost["waiting"] == "no record of model 'ghost' in storage yet"
    assert (ghost["type"], ghost["objective"], ghost["window"], ghost["threshold_ms"]) == (
        "latency", 0.9, "7d", 250.0)
    assert [ghost[k] for k in ("sli", "compliance", "error_budget_remaining",
                               "time_to_exhaustion_seconds")] == [None] * 4
    assert (ghost["burn_rates"], ghost["breaches"], ghost["alerts"]) == ({}, [], [])

    code, out = run(capsys, tmp_path, config, "slo", "--model", "ghost")
    assert code == 0
    assert "ghost-latency on ghost: no record of model 'ghost' in storage yet" in out


def test_an_slo_for_every_model_on_an_empty_storage_waits_for_records(tmp_path, capsys):
    (tmp_path / "data" / "predictions").mkdir(parents=True)

    code, report = slo_json(capsys, tmp_path, HOUR_SLO)

    assert code == 0
    (entry,) = report["slos"]
    assert (entry["model"], entry["waiting"]) == (None, "no model has any record in storage")


def test_model_limits_the_report_to_that_model(tmp_path, capsys):
    write_half_budget(tmp_path / "data", "fraud")
    write_traffic(tmp_path / "data", "churn", minute_ago(30), 100, span=600)

    code, report = slo_json(capsys, tmp_path, HOUR_SLO, "--model", "churn")

    assert code == 0
    (entry,) = report["slos"]
    assert (entry["model"], entry["total"], entry["compliance"]) == ("churn", 100, 1.0)


def test_a_model_no_slo_applies_to_is_said_so(tmp_path, capsys):
    write_half_budget(tmp_path / "data", "fraud")
    write_traffic(tmp_path / "data", "churn", minute_ago(30), 100, span=600)
    config = HOUR_SLO + 'model = "fraud"\n'

    code, report = slo_json(capsys, tmp_path, config, "--model", "churn")

    assert code == 0
    assert (report["slos"], report["note"]) == ([], "no SLO applies to model 'churn'")


def test_an_unknown_model_is_exit_2_naming_the_known_ones(tmp_path, capsys):
    write_half_budget(tmp_path / "data")
    path = tmp_path / "neural-tui.toml"
    path.write_text(f"[storage]\npath = 'data'\n{HOUR_SLO}", encoding="utf-8")

    code = main(["slo", "--config", str(path), "--model", "nope", "--json"])

    assert code == 2
    captured = capsys.readouterr()
    assert captured.err == ("neural-tui: --model 'nope': no such model in storage "
                            "(known: fraud)\n")
    assert json.loads(captured.out)["exit_code"] == 2


def test_names_from_logs_and_config_are_shown_literally(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    hostile = "[bold red]m\x1b]0;pwned\x07"
    write_traffic(tmp_path / "data", hostile, minute_ago(40), 1_000, span=1200,
                  failed=set(range(0, 1_000, 34)))
    config = ('[[slo]]\nname = "[blink]avail\\u001b[2J"\ntype = "availability"\n'
              'target = 0.99\nwindow = "1h"\n')

    code, out = run(capsys, tmp_path, config, "slo")

    assert code == 0
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "[bold red]m␛]0;pwned␇" in out
    assert "[blink]avail␛[2J" in out

    code, report = slo_json(capsys, tmp_path, config)
    (entry,) = report["slos"]
    assert (entry["name"], entry["model"]) == ("[blink]avail\x1b[2J", hostile)


def status(**overrides: Any) -> SLOStatus:
    fields: dict[str, Any] = {
        "spec": SLOSpec("availability", "availability", 0.99, 3600, "fraud"),
        "model": "fraud", "at": 1_767_225_600.0, "good": 10, "total": 10, "sli": 1.0,
        "compliance": 1.0, "error_budget_remaining": 1.0, "burn_rates": {"1m": 0.0},
        "time_to_exhaustion_seconds": None, "breaches": (), "alerts": (),
    }
    fields.update(overrides)
    return SLOStatus(**fields)


@pytest.mark.parametrize("worst", [math.nan, math.inf, -math.inf])
def test_json_never_carries_a_figure_that_is_not_finite(worst):
    row = SLORow(SLOSpec("availability", "availability", 0.99, 3600), "fraud", "1.0", status(
        sli=worst, compliance=worst, error_budget_remaining=worst, burn_rates={"1m": worst},
        time_to_exhaustion_seconds=worst, breaches=(Breach(0.0, None, worst),),
        breached_seconds=worst, longest_breach_seconds=worst,
        alerts=(SLOAlert("slo_burn_rate", "page", {"slo": "availability"}, "burning",
                         worst, worst),)), None)

    entry = row_entry(row)

    text = json.dumps(entry, allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text
    assert [entry[k] for k in ("sli", "compliance", "error_budget_remaining",
                               "time_to_exhaustion_seconds")] == [None] * 4
    assert entry["burn_rates"] == {"1m": None}
    assert entry["breaches"] == [{"start": 0.0, "end": None, "duration_seconds": None}]
    assert (entry["breach_count"], entry["breached_seconds"],
            entry["longest_breach_seconds"]) == (1, None, None)
    assert (entry["alerts"][0]["long_burn_rate"], entry["alerts"][0]["short_burn_rate"]) == (
        None, None)


def test_a_flapping_slo_reports_every_breach_in_its_counts_and_lists_the_newest(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    # record i (0 .. 480) opens minute M-481+i, M the current minute; the odd ones fail
    write_traffic(tmp_path / "data", "fraud", minute_ago(481), 481, span=481 * 60,
                  failed=set(range(1, 481, 2)))
    config = '[[slo]]\nname = "flap"\ntype = "availability"\ntarget = 0.5\nwindow = "4h1m"\n'

    code, report = slo_json(capsys, tmp_path, config)

    assert code == 0
    (entry,) = report["slos"]
    # now is the last record, opening minute M-1. The 241-minute window ending with record j
    # (j = 240 .. 480) holds 121 failures, below 0.5, when j is odd: 120 breaches, each lasting
    # until the next minute end (60 s), but the newest (j = 479): its minute ends at now, where
    # the window ending with record 480 already meets again (0 s).
    assert entry["breach_count"] == 120
    assert entry["breached_seconds"] == 119 * 60
    assert entry["longest_breach_seconds"] == 60
    assert len(entry["breaches"]) == 100

    code, out = run(capsys, tmp_path, config, "slo")

    assert out.count("breach flap on fraud 1.0:") == 5
    assert "flap on fraud 1.0: 115 earlier breaches (--json lists the newest 100)" in out
