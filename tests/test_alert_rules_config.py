"""`[[alerts.rules]]` and the `[alerts]` timing: read into typed settings, every mistake
stopped at load with one line naming the file, the key and the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from neural_tui.cli import main
from neural_tui.config import ConfigError, load_settings

CHANNEL = '[alerts.channels.pager]\ntype = "file"\npath = "pages.jsonl"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "neural-tui.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rule_and_the_timing_are_read_with_durations_in_seconds(tmp_path):
    path = write(tmp_path, CHANNEL + """
[alerts]
group_by = ["alertname"]
group_wait = "45s"
group_interval = "2m"
repeat_interval = "1h30m"
slo_channels = ["pager"]
send_resolved = false
[[alerts.rules]]
name = "latency"
when = "p95_latency_ms > 500"
model = "fraud"
severity = "critical"
channels = ["pager"]
for = "5m"
repeat = 7200
labels = { team = "ml" }
summary = "{model}: p95 {p95_latency_ms} ms"
""")
    alerts = load_settings(path).alerts
    assert (alerts.group_by, alerts.group_wait, alerts.group_interval, alerts.repeat_interval,
            alerts.slo_channels, alerts.send_resolved) == (
        ("alertname",), 45.0, 120.0, 5400.0, ("pager",), False)
    (rule,) = alerts.rules
    assert (rule.name, rule.when, rule.model, rule.severity, rule.channels, rule.for_,
            rule.repeat, rule.labels, rule.summary) == (
        "latency", "p95_latency_ms > 500", "fraud", "critical", ("pager",), 300.0, 7200.0,
        {"team": "ml"}, "{model}: p95 {p95_latency_ms} ms")


def test_a_rule_gets_alertmanagers_defaults(tmp_path):
    path = write(tmp_path, '[[alerts.rules]]\nname = "drift"\nwhen = "drifted"\n')
    alerts = load_settings(path).alerts
    (rule,) = alerts.rules
    assert (rule.severity, rule.channels, rule.model, rule.for_, rule.repeat) == (
        "warning", (), None, 0.0, None)
    assert rule.summary == "{rule} on {model}: {when}"
    assert (alerts.group_by, alerts.group_wait, alerts.group_interval,
            alerts.repeat_interval) == (("alertname", "model"), 30.0, 300.0, 14400.0)


def rule_error(tmp_path: Path, body: str, extra: str = "") -> str:
    path = write(tmp_path, extra + '[[alerts.rules]]\nname = "r1"\n' + body)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert message.startswith(f"{path}: key '")
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("body", "key", "what"), [
    ('when = "p95_latency > 500"\n', "alerts.rules[0].when",
     "rule 'r1': unknown name 'p95_latency' at 1; did you mean 'p95_latency_ms'?"),
    ("when = \"__import__('os')\"\n", "alerts.rules[0].when",
     "rule 'r1': unknown name '__import__'"),
    ('when = "error_rate > 1e999"\n', "alerts.rules[0].when", "beyond"),
    ('when = "' + "(" * 50 + "drifted" + ")" * 50 + '"\n', "alerts.rules[0].when",
     "nests deeper"),
    ('when = "slo_budget_remaining.nope < 0"\n', "alerts.rules[0].when",
     "'slo_budget_remaining.nope' names no [[slo]]"),
    ('when = "drifted"\nsummary = "{nope}"\n', "alerts.rules[0].summary",
     "rule 'r1': unknown placeholder {nope}"),
    ('when = "drifted"\nsummary = "{model.__class__.__init__}"\n', "alerts.rules[0].summary",
     "unknown placeholder"),
    ('when = "drifted"\nchannels = ["pagr"]\n', "alerts.rules[0].channels[0]",
     "rule 'r1': no channel 'pagr' in [alerts.channels] (known: pager)"),
    ('when = "drifted"\nseverity = "page"\n', "alerts.rules[0].severity", "must be one of"),
    ('when = "drifted"\nfor = "5 minutes"\n', "alerts.rules[0].for", "must be a duration"),
    ('when = "drifted"\nfor = "8d"\n', "alerts.rules[0].for",
     "rule 'r1': must be between 0 and 604800 seconds"),
    ('when = "drifted"\nfor = -1\n', "alerts.rules[0].for", "between 0 and 604800"),
    ('when = "drifted"\nrepeat = "30s"\n', "alerts.rules[0].repeat",
     "between 60 and 2592000"),
    ('when = "drifted"\nrepeat = "' + "9" * 400 + 'd"\n', "alerts.rules[0].repeat",
     "must be a duration"),
    ('when = "drifted"\nlabels = { severity = "x" }\n', "alerts.rules[0].labels.severity",
     "not one of alertname, severity, model, version"),
    ('when = "drifted"\nlabels = { "bad-name" = "x" }\n', "alerts.rules[0].labels.bad-name",
     "a label name is letters"),
    ('when = "drifted"\nlabels = { team = "' + "x" * 201 + '" }\n',
     "alerts.rules[0].labels.team", "at most 200 characters"),
    ('when = "drifted"\ncooldown = 5\n', "alerts.rules[0].cooldown", "unknown key"),
])
def test_a_bad_rule_stops_at_load_naming_file_key_and_rule(tmp_path, body, key, what):
    message = rule_error(tmp_path, body, CHANNEL)
    assert f"key '{key}'" in message
    assert what in message


def test_a_rule_without_a_name_or_when_is_refused(tmp_path):
    path = write(tmp_path, '[[alerts.rules]]\nwhen = "drifted"\n')
    with pytest.raises(ConfigError, match=r"key 'alerts.rules\[0\].name': is required"):
        load_settings(path)
    path = write(tmp_path, '[[alerts.rules]]\nname = " "\nwhen = "drifted"\n')
    with pytest.raises(ConfigError, match=r"alerts.rules\[0\].name': must be 1 to 100"):
        load_settings(path)


def test_two_rules_of_the_same_name_severity_and_model_are_refused(tmp_path):
    path = write(tmp_path, '[[alerts.rules]]\nname = "r"\nwhen = "drifted"\n'
                           '[[alerts.rules]]\nname = "r"\nwhen = "drifted"\nseverity = "critical"\n'
                           '[[alerts.rules]]\nname = "r"\nwhen = "error_rate > 0.1"\n')
    with pytest.raises(ConfigError, match=r"rules\[2\]': rule 'r': a second rule of that name"):
        load_settings(path)


@pytest.mark.parametrize(("text", "key", "what"), [
    ('[alerts]\ngroup_by = ["model name"]\n', "alerts.group_by[0]", "must be a label name"),
    ('[alerts]\nslo_channels = ["pager"]\n', "alerts.slo_channels[0]", "no channel 'pager'"),
    ('[alerts]\ngroup_wait = "2h"\n', "alerts.group_wait", "between 0 and 3600"),
    ('[alerts]\ngroup_interval = "0s"\n', "alerts.group_interval", "between 1 and 86400"),
    ('[alerts]\nrepeat_interval = "31d"\n', "alerts.repeat_interval", "between 60 and 2592000"),
    ('[alerts]\nrepeat_interval = true\n', "alerts.repeat_interval", "must be a duration"),
])
def test_bad_alerts_timing_stops_at_load(tmp_path, text, key, what):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert f"key '{key}'" in str(error.value)
    assert what in str(error.value)


def test_an_unknown_name_in_a_rule_is_exit_2_with_one_line_from_any_command(tmp_path, capsys):
    (tmp_path / "storage" / "predictions").mkdir(parents=True)
    path = write(tmp_path, '[storage]\npath = "storage"\n[[alerts.rules]]\nname = "lat"\n'
                           'when = "p95 > 500"\n')
    assert main(["status", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == (f"neural-tui: {path}: key 'alerts.rules[0].when': rule 'lat': "
                   "unknown name 'p95' at 1\n")
    assert main(["--serve-metrics", "--config", str(path)]) == 2


def test_an_slo_figure_of_a_configured_slo_is_accepted(tmp_path):
    path = write(tmp_path, '[[slo]]\nname = "availability"\ntype = "availability"\n'
                           'target = 0.99\n[[alerts.rules]]\nname = "budget"\n'
                           'when = "slo_budget_remaining.availability < 0.1"\n')
    assert load_settings(path).alerts.rules[0].when.startswith("slo_budget_remaining")


def test_the_example_config_loads_with_its_rule_uncommented(tmp_path):
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    text = example.read_text()
    start = text.index("# [[alerts.rules]]")
    block = text[start:text.index("\n\n", start)]
    uncommented = "\n".join(line[2:] if (line.startswith("# ") and " = " in line)
                            or line == "# [[alerts.rules]]" else line
                            for line in block.splitlines())
    head = text[:start].replace("# slo_channels", "slo_channels")
    channel = '\n[alerts.channels.pager]\ntype = "file"\npath = "pages.jsonl"\n'
    path = write(tmp_path, head + channel + uncommented + "\n" + text[start + len(block):])
    settings = load_settings(path)
    (rule,) = settings.alerts.rules
    assert (rule.name, rule.for_, rule.repeat, rule.labels) == (
        "latency", 300.0, 3600.0, {"team": "ml"})


def test_init_writes_active_built_in_rules_that_load_and_notify_nobody(tmp_path):
    output = tmp_path / "neural-tui.toml"
    assert main(["init", "--model-name", "fraud", "--storage", "data",
                 "--output", str(output)]) == 0
    rules = load_settings(output).alerts.rules
    assert [(r.name, r.severity, r.when) for r in rules] == [
        ("drift", "warning", "drifted"),
        ("data_quality", "warning", "quality_score < 0.7"),
        ("accuracy", "warning", "accuracy < 0.8"),
        ("latency", "warning", "p95_latency_ms > 500"),
        ("latency", "critical", "p95_latency_ms > 2000"),
        ("error_rate", "critical", "error_rate > 0.05 and throughput_rps > 0.1"),
    ]
    assert all(r.channels == () for r in rules)


def test_init_rules_page_once_the_commented_channel_is_uncommented(tmp_path, monkeypatch):
    output = tmp_path / "neural-tui.toml"
    assert main(["init", "--model-name", "fraud", "--storage", "data",
                 "--output", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    for line in ("[alerts]", 'slo_channels = ["pager"]', "[alerts.channels.pager]",
                 'type = "webhook"', 'url = "${PAGER_WEBHOOK_URL}"', 'channels = ["pager"]'):
        text = text.replace(f"# {line}\n", f"{line}\n")
    output.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PAGER_WEBHOOK_URL", "https://pager.invalid/hook")
    alerts = load_settings(output).alerts
    assert alerts.slo_channels == ("pager",)
    assert alerts.rules[0].channels == ("pager",)
