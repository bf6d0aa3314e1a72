"""`[alerts.channels.NAME]`: each type's keys checked at load, one line naming the key, and
secrets that never show."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from neural_tui.cli import main
from neural_tui.config import CHANNEL_KEYS, ConfigError, Secret, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_channel_type_loads_with_its_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("SMTP_PASSWORD", "pw-from-env")
    (tmp_path / "ca.pem").write_text("")
    path = write(tmp_path, """
[alerts.channels.chat]
type = "slack"
webhook_url = "https://hooks.slack.com/services/T/B/X"
[alerts.channels.mail]
type = "email"
host = "smtp.example.org"
username = "alerts"
password = "${SMTP_PASSWORD}"
from = "neural-tui@example.org"
to = ["a@example.org", "b@example.org"]
ca_file = "ca.pem"
[alerts.channels.hook]
type = "webhook"
url = "https://hooks.example.org/x"
headers = { Authorization = "Bearer t" }
timeout_seconds = 2.5
[alerts.channels.log]
type = "file"
path = "alerts.jsonl"
[alerts.channels.am]
type = "alertmanager"
url = "http://127.0.0.1:9093"
""")
    channels = load_settings(path).alerts.channels

    assert {name: c.type for name, c in channels.items()} == {
        "chat": "slack", "mail": "email", "hook": "webhook", "log": "file", "am": "alertmanager"}
    mail = channels["mail"]
    assert (mail.from_, mail.to, mail.starttls, mail.port) == (
        "neural-tui@example.org", ("a@example.org", "b@example.org"), True, None)
    assert mail.password == Secret("pw-from-env")
    assert mail.ca_file == tmp_path / "ca.pem"
    assert channels["hook"].headers == {"Authorization": Secret("Bearer t")}
    assert channels["hook"].timeout_seconds == 2.5
    assert channels["log"].path == tmp_path / "alerts.jsonl"
    assert channels["chat"].webhook_url == Secret("https://hooks.slack.com/services/T/B/X")


@pytest.mark.parametrize(("table", "key", "message"), [
    ('type = "slack"', "webhook_url", "is required for a slack channel"),
    ('type = "email"\nfrom = "a@b.c"\nto = ["d@e.f"]', "host", "is required for a email channel"),
    ('type = "email"\nhost = "h"\nto = ["d@e.f"]', "from", "is required for a email channel"),
    ('type = "email"\nhost = "h"\nfrom = "a@b.c"', "to", "is required for a email channel"),
    ('type = "webhook"', "url", "is required for a webhook channel"),
    ('type = "file"', "path", "is required for a file channel"),
    ('type = "alertmanager"', "url", "is required for a alertmanager channel"),
    ('type = "file"\npath = "a"\nurl = "http://x"', "url", "is not a key of a file channel"),
    ('type = "slack"\nwebhook_url = "http://x"\nfrom = "a@b.c"', "from",
     "is not a key of a slack channel"),
    ('type = "webhook"\nurl = "ftp://x"', "url", "must be an http:// or https:// URL"),
    ('type = "webhook"\nurl = "not a url"', "url", "must be an http:// or https:// URL"),
    ('type = "slack"\nwebhook_url = "https:///path"', "webhook_url",
     "must be an http:// or https:// URL"),
    ('type = "webhook"\nurl = "http://x"\nheaders = { "Bad Header" = "v" }', "headers",
     "a header name is"),
    ('type = "file"\npath = "a"\ntimeout_seconds = 0', "timeout_seconds",
     "must be greater than 0 and at most 300"),
    ('type = "file"\npath = "a"\ntimeout_seconds = 1e400', "timeout_seconds",
     "must be a finite number"),
    ('type = "email"\nhost = "h"\nfrom = "a@b.c"\nto = ["d@e.f"]\nport = 0', "port",
     "must be between 1 and 65535"),
    ('type = "email"\nhost = "h"\nfrom = "a@b.c"\nto = ["d@e.f"]\nusername = "u"', "username",
     "username and password go together"),
    ('type = "email"\nhost = "h"\nfrom = "a@b.c"\nto = ["x@y.z\\nBcc: v@w.x"]', "to[0]",
     "must be one e-mail address"),
    ('type = "email"\nhost = "h"\nfrom = "nobody"\nto = ["d@e.f"]', "from",
     "must be one e-mail address"),
    ('type = "email"\nhost = "h"\nfrom = "a@b.c"\nto = ["d@e.f"]\nca_file = "absent.pem"',
     "ca_file", "is not a file"),
    ('type = "sms"', "type", "must be one of"),
    ('type = "file"\npath = "a"\nfrm = "x"', "frm", "unknown key"),
])
def test_a_wrong_channel_table_is_one_line_naming_the_key(tmp_path, table, key, message):
    path = write(tmp_path, f"[alerts.channels.ops]\n{table}\n")

    with pytest.raises(ConfigError) as raised:
        load_settings(path)

    text = str(raised.value)
    assert text.startswith(f"{path}: key 'alerts.channels.ops.{key}': {message}")
    assert "\n" not in text


@pytest.mark.parametrize("name", ["", "a b", "x" * 65, "../up", "é", ".", "..", "-x"])
def test_a_channel_name_that_cannot_name_a_folder_or_a_label_is_refused(tmp_path, name):
    path = write(tmp_path, f'[alerts.channels."{name}"]\ntype = "file"\npath = "a"\n')

    with pytest.raises(ConfigError, match="a channel name is 1 to 64 letters"):
        load_settings(path)


def test_a_missing_key_stops_the_command_with_exit_2_and_one_line(tmp_path, capsys):
    path = write(tmp_path, '[alerts.channels.ops]\ntype = "slack"\n')

    assert main(["status", "--config", str(path)]) == 2

    err = capsys.readouterr().err
    assert err == (f"neural-tui: {path}: key 'alerts.channels.ops.webhook_url': "
                   "is required for a slack channel\n")


def test_secrets_are_never_shown_by_repr_or_by_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK", "https://hooks.example.org/T0KEN")
    path = write(tmp_path, """
[alerts.channels.chat]
type = "slack"
webhook_url = "${HOOK}"
[alerts.channels.hook]
type = "webhook"
url = "https://user:pa55word@hooks.example.org/x"
headers = { Authorization = "Bearer S3CRET" }
""")
    settings = load_settings(path)
    shown = repr(settings)
    bad = write(tmp_path, '[alerts.channels.h]\ntype = "webhook"\nurl = "ftp://u:pa55word@x"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings(bad)

    for secret in ("T0KEN", "pa55word", "S3CRET"):
        assert secret not in shown
        assert secret not in str(raised.value)


def test_the_example_documents_every_channel_key():
    text = EXAMPLE.read_text()
    part = text[text.index("# [alerts.channels]"):]
    from neural_tui.config import ChannelSection

    keys = [f.name.removesuffix("_") for f in fields(ChannelSection)]
    undocumented = [k for k in keys if not re.search(rf"^# {k} = ", part, re.MULTILINE)]
    assert undocumented == []


def test_the_example_channels_uncommented_load(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/X")
    monkeypatch.setenv("SMTP_PASSWORD", "pw")
    monkeypatch.setenv("PAGER_TOKEN", "token")
    text = EXAMPLE.read_text()
    part = text[text.index("# [alerts.channels."):text.index("\n\n", text.index(
        "# [alerts.channels."))]
    tables = "\n".join(line[2:] for line in part.splitlines()
                       if re.match(r"^# (\[alerts|\w+ = )", line))
    tables = tables.replace('ca_file = "/etc/ssl/private-ca.pem"', "")

    channels = load_settings(write(tmp_path, tables)).alerts.channels

    assert sorted(c.type for c in channels.values()) == sorted(CHANNEL_KEYS)


@pytest.mark.parametrize(("table", "key"), [
    ('url = "http://h:99999${HOOKTOK}/"', "url"),
    ('url = "http://[${HOOKTOK}/x"', "url"),
    ('url = "http://h:99999/${HOOKTOK}"', "url"),
    ('url = "http://h:0/${HOOKTOK}"', "url"),
    ('url = "http://h/\\u0000${HOOKTOK}"', "url"),
    ('url = "http://h/x"\nheaders = { Authorization = "Bearer ${HOOKTOK}\u00e9" }',
     "headers.Authorization"),
    ('url = "http://h/x"\nheaders = { Authorization = "Bearer ${HOOKTOK}\\r\\nX: y" }',
     "headers.Authorization"),
])
def test_a_url_or_header_httpx_cannot_send_stops_the_load_with_exit_2_and_hides_the_secret(
        tmp_path, monkeypatch, capsys, caplog, table, key):
    monkeypatch.setenv("HOOKTOK", "SEKRET123")
    path = write(tmp_path, f'[alerts.channels.hook]\ntype = "webhook"\n{table}\n')

    assert main(["alerts", "test", "hook", "--config", str(path)]) == 2

    out, err = capsys.readouterr()
    assert err.startswith(f"neural-tui: {path}: key 'alerts.channels.hook.{key}': ")
    assert err.count("\n") == 1
    assert "SEKRET123" not in out + err + caplog.text
