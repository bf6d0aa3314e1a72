"""Records written one folder off where the reader looks: named, never a silent "0 records"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from headless_storage import write_files_as_the_old_module

from neural_tui import ModelLogger
from neural_tui.cli import main
from neural_tui.storage_layout import MONITOR_CONFIG, RECORDS_FOLDER


def log_records(storage_path: Path, n: int = 5) -> None:
    with ModelLogger("fraud", "1.0", storage_path=storage_path) as monitor:
        for i in range(n):
            monitor.log_prediction(f"p{i}", {"x": float(i)}, 1, latency_ms=5.0)


def test_the_writer_uses_the_layout_the_readers_and_older_tools_know(tmp_path):
    log_records(tmp_path)
    assert (RECORDS_FOLDER, MONITOR_CONFIG) == ("predictions", "monitor_config.json")
    assert len(list((tmp_path / RECORDS_FOLDER).glob("*.jsonl"))) == 1
    assert json.loads((tmp_path / MONITOR_CONFIG).read_text())["model_name"] == "fraud"


@pytest.mark.parametrize("command", ["status", "health", "drift", "quality"])
def test_records_one_level_down_are_named_with_the_right_storage(tmp_path, capsys, command):
    storage = tmp_path / "monitoring_data"
    write_files_as_the_old_module(storage / "predictions" / "predictions")
    assert main([command, "--storage", str(storage), "--json"]) == 2
    warning = (f"{storage}: no record in {storage}/predictions/, but 1 .jsonl file in "
               f"{storage}/predictions/predictions/: use --storage {storage}/predictions")
    assert json.loads(capsys.readouterr().out)["warnings"] == [warning]
    write_files_as_the_old_module(storage / "predictions" / "predictions")
    assert main([command, "--storage", str(storage)]) == 2
    assert capsys.readouterr().err == f"neural-tui: warning: {warning}\n".replace(
        "1 .jsonl file in", "2 .jsonl files in")


def test_a_storage_given_as_the_predictions_folder_points_to_its_parent(tmp_path, capsys):
    log_records(tmp_path / "data")
    predictions = tmp_path / "data" / "predictions"
    assert main(["status", "--storage", str(predictions)]) == 2
    err = capsys.readouterr().err
    assert err.endswith(f"1 .jsonl file in {predictions}/: use --storage {tmp_path / 'data'}\n")


def test_a_storage_one_level_too_high_points_to_the_subfolder(tmp_path, capsys):
    log_records(tmp_path / "all" / "fraud")
    assert main(["status", "--storage", str(tmp_path / "all")]) == 2
    assert capsys.readouterr().err.endswith(f"use --storage {tmp_path / 'all' / 'fraud'}\n")


def test_jsonl_files_in_a_folder_no_storage_can_reach_say_to_move_them(tmp_path, capsys):
    (tmp_path / "predictions" / "2024").mkdir(parents=True)
    (tmp_path / "predictions" / "2024" / "a.jsonl").write_text("{}\n")
    assert main(["status", "--storage", str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith(
        f"in {tmp_path}/predictions/2024/: move them into {tmp_path}/predictions/ or point "
        "--storage elsewhere\n")


def test_an_empty_storage_with_no_jsonl_anywhere_has_no_warning(tmp_path, capsys):
    (tmp_path / "predictions").mkdir()
    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_records_where_expected_silence_stray_files_elsewhere(tmp_path, capsys):
    log_records(tmp_path)
    write_files_as_the_old_module(tmp_path / "predictions" / "predictions")
    assert main(["status", "--storage", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["records_total"], report["warnings"]) == (5, [])
