"""Config discovery: `--config`, else `$NEURAL_TUI_CONFIG`, else `./neural-tui.toml`; and the
suite's seam that keeps a developer's own config out of every test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from neural_tui.cli import main
from neural_tui.config import CONFIG_ENV, DEFAULT_CONFIG_NAME, find_config

ROOT = Path(__file__).resolve().parent.parent


def test_a_test_sees_no_config_variable_and_no_config_in_its_working_directory():
    assert CONFIG_ENV not in os.environ
    assert not Path(DEFAULT_CONFIG_NAME).exists()
    assert find_config(None) is None


def test_the_environment_variable_names_the_config(tmp_path, monkeypatch):
    config = tmp_path / "elsewhere.toml"
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert find_config(None) == config


def test_a_config_in_the_working_directory_is_found():
    Path(DEFAULT_CONFIG_NAME).write_text("[server]\nport = 9200\n")
    assert find_config(None) == Path(DEFAULT_CONFIG_NAME)


def test_the_environment_variable_wins_over_the_working_directory(tmp_path, monkeypatch):
    Path(DEFAULT_CONFIG_NAME).write_text("")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "named.toml"))
    assert find_config(None) == tmp_path / "named.toml"


def test_an_explicit_config_wins_over_both(tmp_path, monkeypatch):
    Path(DEFAULT_CONFIG_NAME).write_text("")
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "named.toml"))
    assert find_config(tmp_path / "given.toml") == tmp_path / "given.toml"


def test_the_command_reads_the_config_the_environment_names(tmp_path, monkeypatch, capsys):
    config = tmp_path / "broken.toml"
    config.write_text("[server]\nport = 'x'\n")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    assert main(["status", "--storage", str(tmp_path)]) == 2
    assert f"{config}: key 'server.port'" in capsys.readouterr().err


def test_the_suite_passes_with_a_hostile_config_in_the_environment_and_the_directory(tmp_path):
    """Tests that read a config (in process and through the installed command) pass although
    the environment names invalid TOML and the working directory holds a broken config."""
    hostile = tmp_path / "hostile.toml"
    hostile.write_text("this is [not toml\n")
    (tmp_path / DEFAULT_CONFIG_NAME).write_text("[server]\nport = 'nope'\n")
    chosen = [
        "tests/test_config_discovery.py::"
        "test_a_test_sees_no_config_variable_and_no_config_in_its_working_directory",
        "tests/test_cli.py::test_status_json_reports_exact_totals_per_model",
        "tests/test_cli.py::test_the_console_script_is_installed_and_answers",
    ]
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, CONFIG_ENV: str(hostile), "PYTHONPATH": python_path}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
         "-c", str(ROOT / "pyproject.toml"), *(str(ROOT / test) for test in chosen)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{len(chosen)} passed" in result.stdout
