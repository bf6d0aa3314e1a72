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
