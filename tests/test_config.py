"""The config file: typed settings, and one clear line for every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from neural_tui.config import ConfigError, Secret, Settings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_config_gives_defaults():
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.storage.path == Path("monitoring_data")
    assert settings.server.host == "127.0.0.1"


def test_fixed_keys_are_read_into_typed_settings(tmp_path):
    path = write(tmp_path, """
[storage]
path = "data"
[server]
host = "0.0.0.0"
port = 9200
[[models]]
name = "fraud"
version = "2.1"
reference = "ref/fraud.jsonl"
[[models]]
name = "churn"
""")
    settings = load_settings(path)
    assert settings.storage.path == tmp_path / "data"
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9200)
    assert [m.name for m in settings.models] == ["fraud", "churn"]
    assert settings.models[0].reference == tmp_path / "ref" / "fraud.jsonl"
    assert settings.models[1].version == ""
    assert settings.source == path


@pytest.mark.parametrize(("text", "key", "what"), [
    ("[storage]\npth = 'x'\n", "storage.pth", "unknown key"),
    ("[sever]\nport = 1\n", "sever", "unknown key"),
    ("[server]\nport = '9000'\n", "server.port", "must be an integer"),
    ("[server]\nport = 70000\n", "server.port", "between 0 and 65535"),
    ("[server]\nport = true\n", "server.port", "must be an integer"),
    ("[runtime]\ncadence_seconds = 0\n", "runtime.cadence_seconds", "greater than 0"),
    ("[runtime]\ncadence_seconds = nan\n", "runtime.cadence_seconds", "finite"),
    ("[[models]]\nversion = '1'\n", "models[0].name", "is required"),
    ("[[models]]\nname = 'a'\ncolour = 1\n", "models[0].colour", "unknown key"),
    ("[[models]]\nname = 'a'\n[[models]]\nname = 'a'\n", "models[1].name", "duplicate"),
    ("storage = 'x'\n", "storage", "must be a table"),
    ("[drift]\nwindow = 0\n", "drift.window", "greater than 0"),
    ("[drift]\nreference_rows = -5\n", "drift.reference_rows", "greater than 0"),
    ("[drift]\nalpha = 1.0\n", "drift.alpha", "between 0 and 1"),
    ("[drift]\npsi_threshold = 0\n", "drift.psi_threshold", "greater than 0"),
    ("[drift]\ndataset_drift_share = 1.5\n", "drift.dataset_drift_share", "at most 1"),
    ("[drift]\ncorrection = 'holm'\n", "drift.correction", "must be one of"),
    ("[drift]\nwindw = 10\n", "drift.windw", "unknown key"),
    ("[drift.tests]\namount = 't-test'\n", "drift.tests.amount", "must be one of"),
    ("[drift.kinds]\nzip = 'text'\n", "drift.kinds.zip", "must be one of"),
    ("[quality]\nrange_tolerance = -0.1\n", "quality.range_tolerance", "0 or more"),
    ("[quality]\noutlier_method = 'zscore'\n", "quality.outlier_method", "must be one of"),
    ("[quality.weights]\nmissing = -1\n", "quality.weights.missing", "0 or more"),
    ("[quality.weights]\nsyntax = 1\n", "quality.weights.syntax", "unknown key"),
    ("[quality.weights]\nmissing = 0\ntype_violations = 0\nout_of_range = 0\noutliers = 0\n"
     "new_categories = 0\nschema = 0\n", "quality.weights", "must not all be 0"),
    ("[analysis]\ninterval_seconds = 0\n", "analysis.interval_seconds", "greater than 0"),
    ("[analysis]\nevery_records = 1.5\n", "analysis.every_records", "must be an integer"),
])
def test_a_mistake_stops_at_load_naming_file_and_key(tmp_path, text, key, what):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: key '{key}'")
    assert what in message
    assert "\n" not in message


def test_invalid_toml_names_the_file_and_position(tmp_path):
    path = write(tmp_path, "[storage\npath = 1\n")
    with pytest.raises(ConfigError, match=rf"^{path}: invalid TOML: .*line 1"):
        load_settings(path)


def test_missing_config_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml")


def test_environment_references_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("NT_DATA", "/srv/monitoring")
    settings = load_settings(write(tmp_path, "[storage]\npath = '${NT_DATA}/m1'\n"))
    assert settings.storage.path == Path("/srv/monitoring/m1")


def test_an_unset_environment_reference_names_the_key_not_a_value(tmp_path, monkeypatch):
    monkeypatch.delenv("NT_UNSET_SECRET", raising=False)
    path = write(tmp_path, "[server]\nhost = '${NT_UNSET_SECRET}'\n")
    with pytest.raises(ConfigError, match=r"key 'server.host': environment variable "
                                          r"NT_UNSET_SECRET is not set"):
        load_settings(path)


def test_type_errors_never_echo_the_value(tmp_path):
    path = write(tmp_path, "[server]\nport = 'hunter2-token'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "hunter2" not in str(caught.value)


def test_a_secret_is_masked_when_printed_and_revealed_on_request():
    secret = Secret("xoxb-real-token")
    assert "xoxb" not in repr(secret)
    assert "xoxb" not in str(secret)
    assert "xoxb" not in f"{secret}"
    assert secret.reveal() == "xoxb-real-token"


def test_drift_quality_and_schedule_sections_are_read(tmp_path):
    settings = load_settings(write(tmp_path, """
[analysis]
interval_seconds = 30
every_records = 500
[drift]
window = 2000
reference_rows = 5000
alpha = 0.01
correction = "bh"
[drift.tests]
amount = "psi"
[drift.kinds]
zip_code = "categorical"
[quality]
outlier_method = "iqr"
[quality.weights]
missing = 1.0
"""))
    assert (settings.analysis.interval_seconds, settings.analysis.every_records) == (30.0, 500)
    assert (settings.drift.window, settings.drift.reference_rows) == (2000, 5000)
    assert (settings.drift.alpha, settings.drift.correction) == (0.01, "bh")
    assert settings.drift.tests == {"amount": "psi"}
    assert settings.drift.kinds == {"zip_code": "categorical"}
    assert settings.quality.outlier_method == "iqr"
    assert settings.quality.weights.missing == 1.0
    assert settings.quality.weights.schema == 0.15


def test_the_example_config_loads_and_documents_the_defaults():
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    settings = load_settings(example)
    defaults = Settings()
    assert settings.analysis == defaults.analysis
    assert settings.drift == defaults.drift
    assert settings.quality == defaults.quality
    assert settings.runtime == defaults.runtime


def test_the_example_config_documents_every_key():
    import re
    from dataclasses import fields, is_dataclass
    from typing import get_type_hints

    from neural_tui.config import ModelSettings

    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text()

    def documented(section: str, cls: type) -> list[str]:
        missing = []
        hints = get_type_hints(cls)
        for spec in fields(cls):
            if is_dataclass(hints[spec.name]):
                missing += documented(f"{section}.{spec.name}", hints[spec.name])
            elif str(hints[spec.name]).startswith("dict"):
                if f"[{section}.{spec.name}]" not in text:
                    missing.append(f"{section}.{spec.name}")
            elif not re.search(rf"^(# )?{spec.name} = ", text, re.MULTILINE):
                missing.append(f"{section}.{spec.name}")
        return missing

    sections = get_type_hints(Settings)
    undocumented = [key for spec in fields(Settings) if is_dataclass(sections[spec.name])
                    for key in documented(spec.name, sections[spec.name])]
    assert undocumented == []
    assert [key for key in documented("models", ModelSettings)] == []
