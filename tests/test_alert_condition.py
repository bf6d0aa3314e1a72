"""A rule's `when`: a small grammar that compares figures, and refuses everything else."""

from __future__ import annotations

import pytest

from neural_tui.alerts.condition import (
    FAMILIES,
    FLAG_NAMES,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TOKENS,
    NUMBER_NAMES,
    ConditionError,
    parse,
)
from neural_tui.alerts.template import TemplateError, parse_template
from neural_tui.alerts.values import FIGURE_NAMES


def holds(text: str, **figures: float | bool | None) -> bool:
    return parse(text).holds(lambda name: figures.get(name))


@pytest.mark.parametrize(("text", "value", "expected"), [
    ("error_rate > 0.05", 0.06, True),
    ("error_rate > 0.05", 0.05, False),
    ("error_rate >= 0.05", 0.05, True),
    ("error_rate >= 0.05", 0.04, False),
    ("error_rate < 0.05", 0.04, True),
    ("error_rate < 0.05", 0.05, False),
    ("error_rate <= 0.05", 0.05, True),
    ("error_rate <= 0.05", 0.06, False),
    ("error_rate == 0.05", 0.05, True),
    ("error_rate == 0.05", 0.06, False),
    ("error_rate != 0.05", 0.06, True),
    ("error_rate != 0.05", 0.05, False),
    ("0.05 < error_rate", 0.06, True),
    ("error_rate > -1", 0.0, True),
    ("error_rate > 5e-2", 0.06, True),
])
def test_every_comparison_operator_compares_as_written(text, value, expected):
    assert holds(text, error_rate=value) is expected


def test_and_binds_tighter_than_or():
    text = "error_rate > 0.1 or drift_score > 0.5 and quality_score < 0.7"
    assert holds(text, error_rate=0.2, drift_score=0.0, quality_score=1.0)
    assert not holds(text, error_rate=0.0, drift_score=0.9, quality_score=1.0)
    assert holds(text, error_rate=0.0, drift_score=0.9, quality_score=0.5)


def test_parentheses_override_precedence():
    text = "(error_rate > 0.1 or drift_score > 0.5) and quality_score < 0.7"
    assert not holds(text, error_rate=0.2, drift_score=0.0, quality_score=1.0)
    assert holds(text, error_rate=0.2, drift_score=0.0, quality_score=0.5)


def test_not_binds_tighter_than_and():
    text = "not error_rate > 0.1 and drifted"
    assert holds(text, error_rate=0.0, drifted=True)
    assert not holds(text, error_rate=0.2, drifted=True)
    assert not holds(text, error_rate=0.0, drifted=False)


def test_not_not_is_the_condition_itself():
    assert holds("not not drifted", drifted=True)
    assert not holds("not not drifted", drifted=False)


def test_a_flag_stands_on_its_own():
    assert holds("drifted", drifted=True)
    assert holds("not drifted", drifted=False)


@pytest.mark.parametrize("text", [
    "accuracy < 0.8",
    "not accuracy >= 0.8",
    "not (accuracy >= 0.8 and error_rate < 0.5)",
    "accuracy < 0.8 or error_rate > 0.5",
    "drifted",
    "not drifted",
])
def test_a_figure_without_data_never_makes_a_rule_hold_negated_or_not(text):
    assert not holds(text, accuracy=None, error_rate=0.0, drifted=None)


def test_unknown_or_true_holds_and_unknown_and_false_does_not():
    assert holds("accuracy < 0.8 or error_rate > 0.1", accuracy=None, error_rate=0.2)
    assert not holds("not (accuracy < 0.8 and error_rate > 0.1)", accuracy=None, error_rate=0.2)
    assert holds("not (accuracy < 0.8 and error_rate > 0.1)", accuracy=None, error_rate=0.0)


def test_a_non_finite_figure_counts_as_no_data():
    assert not holds("p95_latency_ms > 500", p95_latency_ms=float("nan"))
    assert not holds("not p95_latency_ms > 500", p95_latency_ms=float("inf"))


def test_feature_and_slo_members_are_names_with_a_dot_or_quoted():
    condition = parse('feature_drift.amount > 0.2 or feature_drift["card type"] > 0.3 '
                      "or slo_budget_remaining.availability < 0")
    assert condition.names == {"feature_drift.amount", 'feature_drift["card type"]',
                               "slo_budget_remaining.availability"}
    assert condition.holds(lambda name: {'feature_drift["card type"]': 0.4}.get(name))


def test_condition_lists_every_name_it_reads():
    assert parse("p95_latency_ms > 500 and not drifted").names == {"p95_latency_ms", "drifted"}


@pytest.mark.parametrize(("text", "message"), [
    ("__import__('os')", "unknown name '__import__'"),
    ("__import__('os').system('true')", "unknown name '__import__'"),
    ("p95_latency > 500", "unknown name 'p95_latency' at 1; did you mean 'p95_latency_ms'?"),
    ("open('/etc/passwd')", "unknown name 'open'"),
    ("error_rate > 0.05; drifted", "unexpected character ';'"),
    ("error_rate.__class__ > 0", "unknown name 'error_rate.__class__'"),
    ("feature_drift > 0.2", "unknown name 'feature_drift'"),
    ("feature_drift. > 0.2", "unknown name 'feature_drift'"),
    ("lambda: 1", "unknown name 'lambda'"),
    ("error_rate > 0.05 and", "ends too early"),
    ("error_rate >", "ends too early"),
    ("", "ends too early"),
    ("(error_rate > 0.05", "ends too early"),
    ("error_rate > 0.05)", "unexpected ')'"),
    ("error_rate", "error_rate is a number, not a condition"),
    ("error_rate and drifted", "'and' needs conditions on both sides"),
    ("drifted or p99_latency_ms", "'or' needs conditions on both sides"),
    ("not error_rate", "'not' needs conditions on both sides"),
    ("drifted == 1", "drifted is yes or no"),
    ("1 < 2", "compares two numbers"),
    ("0.5", "stands alone"),
    ("0 < error_rate < 1", "comparisons do not chain"),
    ("error_rate > - drifted", "'-' at 14 must precede a number"),
    ("error_rate > 1e13", "beyond 1e+12"),
    ("error_rate > 1e400", "beyond 1e+12"),
    ("error_rate > " + "9" * 400, "longer than 24 characters"),
    ("error_rate >> 1", "unexpected '>'"),
    ("error_rate = 1", "unexpected character '='"),
    ("error_rate > 0x10", "unknown name 'x10'"),
    ("error_rate\x00 > 1", "unexpected character '\\x00'"),
    ("drift_score > \u0663", "unexpected character '\u0663'"),
    ("drift_score > 1\uff13", "unexpected character '\uff13'"),
    ("drift_score > 0.\u0663", "unexpected character '.'"),
])
def test_hostile_or_broken_text_is_refused_with_the_reason(text, message):
    with pytest.raises(ConditionError, match=None) as error:
        parse(text)
    assert message in str(error.value)


def test_nesting_deeper_than_the_bound_is_refused_and_at_the_bound_accepted():
    at_bound = "(" * MAX_DEPTH + "drifted" + ")" * MAX_DEPTH
    assert parse(at_bound).holds(lambda _: True)
    with pytest.raises(ConditionError, match="nests deeper than"):
        parse("(" + at_bound + ")")
    with pytest.raises(ConditionError, match="nests deeper than"):
        parse("not " * (MAX_DEPTH + 1) + "drifted")


def test_a_huge_nesting_is_refused_without_recursion_error():
    with pytest.raises(ConditionError):
        parse("(" * 100_000 + "drifted" + ")" * 100_000)
    with pytest.raises(ConditionError, match="nests deeper"):
        parse("(" * 90 + "drifted" + ")" * 90)


def test_overlong_text_and_too_many_tokens_are_refused():
    with pytest.raises(ConditionError, match=f"at most {MAX_LENGTH}"):
        parse("drifted or " * 200 + "drifted")
    many = " or ".join(["f1>0"] * (MAX_TOKENS // 4 + 1))
    assert len(many) <= MAX_LENGTH
    with pytest.raises(ConditionError, match=f"more than {MAX_TOKENS} tokens"):
        parse(many)


def test_every_documented_name_is_read_from_a_snapshot():
    assert set(NUMBER_NAMES) | set(FLAG_NAMES) == FIGURE_NAMES
    assert set(FAMILIES) == {"feature_drift", "feature_drifted", "slo_compliance",
                             "slo_budget_remaining"}


def test_a_summary_template_accepts_known_placeholders_and_escaped_braces():
    template = parse_template("{rule} on {model}: p95 {p95_latency_ms} ms {{ok}}",
                              lambda name: name in {"rule", "model", "p95_latency_ms"})
    assert template.placeholders == {"rule", "model", "p95_latency_ms"}
    assert template.fill({"rule": "slow", "model": "m", "p95_latency_ms": "612"}) == \
        "slow on m: p95 612 ms {ok}"


def test_a_placeholder_without_a_value_at_fire_time_reads_n_a_instead_of_raising():
    template = parse_template("{rule}: {accuracy}", lambda name: True)
    assert template.fill({"rule": "acc"}) == "acc: n/a"


@pytest.mark.parametrize(("text", "message"), [
    ("{nope}", "unknown placeholder {nope}"),
    ("{model.__class__}", "unknown placeholder {model.__class__}"),
    ("{0}", "unknown placeholder {0}"),
    ("{model!r}", "unknown placeholder {model!r}"),
    ("{model:>99999999}", "unknown placeholder {model:>99999999}"),
    ("open { brace", "unmatched '{'"),
    ("close } brace", "unmatched '}'"),
    ("x" * 1001, "at most 1000"),
])
def test_a_bad_summary_template_is_refused(text, message):
    with pytest.raises(TemplateError) as error:
        parse_template(text, lambda name: name == "model")
    assert message in str(error.value)
