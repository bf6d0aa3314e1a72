"""`neural-tui rules`: Prometheus recording and alerting rules for every `[[slo]]`, which
`promtool check rules` accepts whatever the SLOs are called."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from realservers import require_binary

from neural_tui.cli import main
from neural_tui.config import Settings, SLOSection
from neural_tui.prometheus_rules import promql_string, render_rules, rule_document

HOSTILE_NAME = 'p99 "fast" \\ {{ .Value }} }}\n{{ \x07 é\x85\u2028\t\x00 #: - &a *b'
HOSTILE_MODEL = 'fr"aud\\\n{{'

EVERY_KIND = (
    SLOSection(name="available", type="availability", target=0.999, window="30d"),
    SLOSection(name="errors", type="error_rate", target=0.01, window="7d", model="fraud"),
    SLOSection(name="fast", type="latency", target=0.99, window="1h", threshold_ms=300),
    SLOSection(name="accurate", type="accuracy", target=0.9, window="7d", model="churn"),
    SLOSection(name="busy", type="throughput", target=0.95, window="30d", min_rps=2.5),
    SLOSection(name=HOSTILE_NAME, type="latency", target=0.95, window="1h",
               threshold_ms=1000, model=HOSTILE_MODEL),
    SLOSection(name=HOSTILE_NAME + "2", type="throughput", target=0.5, window="7d",
               min_rps=0.001, model=HOSTILE_MODEL),
)


def rules_of(*slos: SLOSection) -> list[dict[str, Any]]:
    """The rules of the first group of the generated file, read back as YAML."""
    document = yaml.safe_load(render_rules(Settings(slo=slos)))
    return list(document["groups"][0]["rules"])


def records(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["record"]: rule for rule in rules if "record" in rule}


def alerts(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for rule in rules if "alert" in rule]


def write_config(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_a_label_value_becomes_a_promql_string_with_go_escapes():
    assert promql_string('a"b\\c\nd\te\x7f é') == '"a\\"b\\\\c\\nd\\x09e\\x7f é"'


ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
"""Any name a TOML file can hold (no lone surrogates)."""


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_any_name_is_a_promql_literal_that_reads_back_as_itself(name):
    # Go's escapes as used here (\x below 0x80, \u, \U, \n, \\, \") read as Python's do.
    literal = promql_string(name)

    assert ast.literal_eval(literal) == name
    assert all(char.isprintable() for char in literal)


@settings(max_examples=30, deadline=None)
@given(ANY_TEXT, ANY_TEXT)
def test_any_slo_and_model_name_read_back_unchanged_from_the_rule_file(name, model):
    slo = SLOSection(name=name, type="availability", target=0.99, window="1h", model=model)

    group = yaml.safe_load(render_rules(Settings(slo=(slo,))))["groups"][0]["rules"]

    assert records(group)["slo:objective:ratio"]["labels"] == {"slo": name, "model": model}


def test_characters_yaml_reads_as_line_breaks_are_escaped_in_promql():
    assert promql_string("a\x85b\u2028c\u2029d\U000e0001") == (
        '"a\\u0085b\\u2028c\\u2029d\\U000e0001"')


@pytest.mark.real_server
def test_promtool_accepts_the_rules_of_every_kind_of_slo_and_hostile_names(tmp_path):
    promtool = require_binary("promtool", "apt-get install prometheus")
    rule_file = tmp_path / "slo.rules.yml"
    rule_file.write_text(render_rules(Settings(slo=EVERY_KIND)), encoding="utf-8")

    result = subprocess.run([promtool, "check", "rules", str(rule_file)],
                            capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "duplicate" not in result.stdout + result.stderr


def test_a_hostile_name_reads_back_unchanged_from_the_yaml():
    document = yaml.safe_load(render_rules(Settings(slo=EVERY_KIND)))
    hostile_group = document["groups"][5]["rules"]

    assert {rule["labels"]["slo"] for rule in hostile_group if "record" in rule} == {HOSTILE_NAME}
    objective = records(hostile_group)["slo:objective:ratio"]
    assert objective["labels"] == {"slo": HOSTILE_NAME, "model": HOSTILE_MODEL}


def test_an_alert_label_is_go_template_text_that_expands_to_the_name():
    # Prometheus expands alert labels as templates: only "{{" opens an action there.
    rule = alerts(rules_of(EVERY_KIND[5]))[0]

    assert rule["labels"]["slo"] == ('p99 "fast" \\ {{ "{{" }} .Value }} }}\n{{ "{{" }} \x07 é'
                                     '\x85\u2028\t\x00 #: - &a *b')
    assert HOSTILE_NAME not in rule["annotations"]["summary"]


def test_a_30_day_slo_records_its_error_ratio_over_every_burn_window_and_its_own():
    rules = rules_of(EVERY_KIND[0])

    windows = [name.removeprefix("slo:sli_error:ratio_rate") for name in records(rules)
               if name.startswith("slo:sli_error:")]
    assert windows == ["5m", "30m", "1h", "6h", "3d", "30d"]
    assert all(rule["labels"] == {"slo": "available"} for rule in records(rules).values()
               if rule["record"].startswith("slo:sli_error:"))


def test_an_slo_for_every_model_is_computed_by_model_and_version_without_a_matcher():
    rule = records(rules_of(EVERY_KIND[0]))["slo:sli_error:ratio_rate5m"]

    assert rule["expr"] == (
        "(sum by (model, version) (rate(neural_errors_total[5m])) or "
        "sum by (model, version) (rate(neural_predictions_total[5m])) * 0) / "
        "sum by (model, version) (rate(neural_predictions_total[5m]))"
    )


def test_an_slo_of_one_model_matches_that_model_only():
    rule = records(rules_of(EVERY_KIND[1]))["slo:sli_error:ratio_rate7d"]

    assert rule["expr"] == (
        '(sum by (model, version) (rate(neural_errors_total{model="fraud"}[7d])) or '
        'sum by (model, version) (rate(neural_predictions_total{model="fraud"}[7d])) * 0) / '
        'sum by (model, version) (rate(neural_predictions_total{model="fraud"}[7d]))'
    )


def test_an_error_rate_slo_spends_its_maximum_error_fraction_as_budget():
    budget = records(rules_of(EVERY_KIND[1]))["slo:error_budget:ratio"]

    assert budget["expr"] == "vector(0.01)"
    assert budget["labels"] == {"slo": "errors", "model": "fraud"}


def test_a_latency_slo_reads_the_bucket_at_its_threshold_as_the_exporter_writes_le():
    fast = records(rules_of(EVERY_KIND[2]))["slo:sli_error:ratio_rate1m"]["expr"]
    second = records(rules_of(EVERY_KIND[5]))["slo:sli_error:ratio_rate1m"]["expr"]

    assert fast == (
        "(sum by (model, version) (rate(neural_prediction_latency_seconds_count[1m])) - "
        'sum by (model, version) (rate(neural_prediction_latency_seconds_bucket{le="0.3"}[1m]))) / '
        "sum by (model, version) (rate(neural_prediction_latency_seconds_count[1m]))"
    )
    assert 'le="1.0"' in second


def test_an_accuracy_slo_reads_the_labelled_and_correct_counters():
    rule = records(rules_of(EVERY_KIND[3]))["slo:sli_error:ratio_rate7d"]

    assert rule["expr"] == (
        '(sum by (model, version) (rate(neural_labels_joined_total{model="churn"}[7d])) - '
        'sum by (model, version) (rate(neural_labels_correct_total{model="churn"}[7d]))) / '
        'sum by (model, version) (rate(neural_labels_joined_total{model="churn"}[7d]))'
    )


def test_a_throughput_slo_counts_the_share_of_minutes_below_min_rps():
    rule = records(rules_of(EVERY_KIND[4]))["slo:sli_error:ratio_rate1h"]

    assert rule["expr"] == (
        "avg_over_time((sum by (model, version) (rate(neural_predictions_total[1m])) < bool 2.5)"
        "[1h:1m])"
    )


def test_a_30_day_slo_alerts_on_the_workbooks_three_tiers():
    tiers = [(rule["labels"]["severity"], rule["labels"]["long_window"],
              rule["labels"]["short_window"]) for rule in alerts(rules_of(EVERY_KIND[0]))]

    assert tiers == [("page", "1h", "5m"), ("page", "6h", "30m"), ("ticket", "3d", "6h")]


def test_a_tier_fires_when_both_windows_burn_faster_than_its_factor_with_enough_events():
    page = alerts(rules_of(EVERY_KIND[0]))[0]

    assert page["alert"] == "slo_burn_rate"
    assert page["expr"] == (
        'slo:sli_error:ratio_rate1h{slo="available"} > (14.4 * 0.001)\n'
        "and on (model, version)\n"
        'slo:sli_error:ratio_rate5m{slo="available"} > (14.4 * 0.001)\n'
        "and on (model, version)\n"
        "sum by (model, version) (increase(neural_predictions_total[1h])) >= 20"
    )


def test_a_slower_tier_is_held_back_while_a_faster_one_fires():
    ticket = alerts(rules_of(EVERY_KIND[0]))[2]["expr"]

    first, *held_back_by = ticket.split("\nunless on (model, version)\n")
    assert "ratio_rate3d" in first
    assert [("ratio_rate1h" in faster, "ratio_rate6h" in faster) for faster in held_back_by] == [
        (True, False), (False, True)]


def test_a_throughput_slo_guards_on_minutes_at_most_the_long_windows_count():
    short_slo = SLOSection(name="busy", type="throughput", target=0.95, window="1h", min_rps=2.5)
    page_30d = alerts(rules_of(EVERY_KIND[4]))[0]["expr"]
    page_1h = alerts(rules_of(short_slo))[0]["expr"]

    guard = ("count_over_time((sum by (model, version) (rate(neural_predictions_total[1m])))"
             "[{}:1m]) >= {}")
    assert page_30d.endswith("\nand on (model, version)\n" + guard.format("1h", 20))
    assert "\nand on (model, version)\n" + guard.format("1m", 1) in page_1h


def test_a_1h_slo_whose_page_tiers_share_their_windows_gets_one_alert_for_both():
    rules = alerts(rules_of(EVERY_KIND[2]))

    assert [(r["labels"]["severity"], r["labels"]["long_window"], r["labels"]["short_window"])
            for r in rules] == [("page", "1m", "1m"), ("ticket", "6m", "1m")]
    assert "(14.4 * 0.01)" in rules[0]["expr"]
    assert "(6 * 0.01)" in rules[0]["expr"]
    assert "burns over 6 times" in rules[0]["annotations"]["summary"]


def test_the_period_burn_rate_divides_the_window_ratio_by_the_budget():
    rules = records(rules_of(EVERY_KIND[3]))

    assert rules["slo:period_burn_rate:ratio"]["expr"] == (
        'slo:sli_error:ratio_rate7d{model="churn",slo="accurate"} / 0.1')
    assert rules["slo:period_error_budget_remaining:ratio"]["expr"] == (
        '1 - slo:period_burn_rate:ratio{model="churn",slo="accurate"}')


def test_the_rules_command_prints_the_file_for_the_configs_slos(tmp_path, capsys):
    config = write_config(tmp_path / "neural-tui.toml", """
[[slo]]
name = "available"
type = "availability"
target = 0.999
window = "30d"
""")

    code = main(["rules", "--config", str(config)])

    out = capsys.readouterr().out
    assert code == 0
    assert out == render_rules(Settings(slo=(EVERY_KIND[0],)))
    assert [group["name"] for group in yaml.safe_load(out)["groups"]] == ["neural-tui-slo-0"]


def test_without_slos_the_rules_command_prints_an_empty_file_and_says_so(tmp_path, capsys):
    config = write_config(tmp_path / "neural-tui.toml", "[server]\nport = 9100\n")

    code = main(["rules", "--config", str(config)])

    captured = capsys.readouterr()
    assert code == 0
    assert yaml.safe_load(captured.out) == {"groups": []}
    assert "no [[slo]]" in captured.err


@pytest.mark.parametrize(("slos", "key", "what"), [
    ((EVERY_KIND[0], EVERY_KIND[0]), "slo[1].name", "duplicate SLO name"),
    ((SLOSection(name="x", type="latency", target=0.99),), "slo[0].threshold_ms", "needs"),
    ((SLOSection(name="x", type="throughput", target=0.99),), "slo[0].min_rps", "needs"),
    ((SLOSection(name="x", type="availability", target=1.0),), "slo[0].target", "no error"),
    ((SLOSection(name="x", type="error_rate", target=0.0),), "slo[0].target", "no error"),
    ((SLOSection(name="x", type="availability", target=0.9, window="soon"),), "slo[0].window",
     "not a duration"),
    ((SLOSection(name="x", type="latency", target=0.9, threshold_ms=-3),),
     "slo[0].threshold_ms", "not a bucket bound"),
    # 19 default buckets and 71 thresholds fill the 90 bounds: more than a config takes.
    (tuple(SLOSection(name=f"x{i}", type="latency", target=0.9, threshold_ms=1001 + i)
           for i in range(80)), "slo[71].threshold_ms", "not a bucket bound"),
])
def test_an_slo_the_rules_cannot_compute_is_refused_naming_its_key(slos, key, what):
    with pytest.raises(ValueError, match=r"config: key '(.*)'") as caught:
        rule_document(Settings(slo=slos))

    assert f"key '{key}'" in str(caught.value)
    assert what in str(caught.value)


def test_a_refused_slo_exits_2_with_one_line_naming_the_file(tmp_path, capsys):
    config = write_config(tmp_path / "neural-tui.toml", """
[[slo]]
name = "fast"
type = "latency"
target = 0.99
""")

    code = main(["rules", "--config", str(config)])

    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert str(config) in err
    assert "slo[0].threshold_ms" in err
