"""A rule's `when`: a small, safe condition language over the figures a snapshot holds.

Never `eval`: the text is split into tokens and parsed by recursive descent into a small tree
that only compares numbers. Grammar (lowest precedence first)::

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand (("<" | "<=" | ">" | ">=" | "==" | "!=") operand)? | "(" condition ")"
    operand    := number | name

A name is one of `NUMBER_NAMES` or `FLAG_NAMES`, or a family member: `feature_drift.amount`
(the family, a dot, then letters, digits and `_`) or `feature_drift["card type"]` for any other
name. A number name is only ever compared (`p95_latency_ms > 500`); a flag (`drifted`) stands on
its own (`drifted and not feature_drifted.amount`). Comparisons do not chain.

A figure that has no data yet (no latencies, no labels, no drift report) is *unknown*: a
comparison with it is unknown, and so is `not` of it; `unknown and false` is false, `unknown
or true` is true (Kleene's three-valued logic). A rule whose condition is unknown does not
hold, so no data never fires an alert, negated or not.

Hostile text is refused before any evaluation: more than `MAX_LENGTH` characters or
`MAX_TOKENS` tokens, nesting deeper than `MAX_DEPTH`, a number longer than `MAX_NUMBER_CHARS`
characters or beyond +-`MAX_NUMBER`, any character outside the grammar (so `__import__('os')`
stops at its quote, and `__import__` is no known name anyway).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

MAX_LENGTH = 1000
MAX_TOKENS = 200
MAX_DEPTH = 16
MAX_NUMBER_CHARS = 24
MAX_NUMBER = 1e12
MAX_MEMBER_CHARS = 200

NUMBER_NAMES: dict[str, str] = {
    "drift_score": "share of the model's features that drifted (neural_drift_score, "
                   "distribution), 0 to 1",
    "prediction_drift_score": "effect size of the prediction column's drift, 0 to 1",
    "concept_drift_score": "Page-Hinkley statistic over its threshold (1 or more: drift)",
    "performance_drift_score": "drop of accuracy (or relative rise of RMSE) since the "
                               "reference period",
    "p50_latency_ms": "median latency over the runtime window, ms",
    "p95_latency_ms": "95th percentile latency over the runtime window, ms",
    "p99_latency_ms": "99th percentile latency over the runtime window, ms",
    "error_rate": "failed requests / requests over the runtime window, 0 to 1",
    "throughput_rps": "requests per second over the runtime window",
    "quality_score": "composite data-quality score of the latest window, 0 to 1",
    "missing_rate": "share of missing feature values, 0 to 1",
    "outlier_rate": "share of outlying numbers, 0 to 1",
    "accuracy": "accuracy on labelled predictions (once enough labels joined)",
    "precision": "precision on labelled predictions",
    "recall": "recall on labelled predictions",
    "f1": "F1 on labelled predictions",
    "mae": "mean absolute error (regression)",
    "rmse": "root mean squared error (regression)",
    "predictions_total": "predictions read since the start of storage",
    "errors_total": "failed requests read since the start of storage",
    "seconds_since_last_record": "age of the model's newest record at the snapshot's time",
    "ingest_errors": ("lines skipped by the sources in the last [runtime] window_seconds, "
                      "the history read at start not counted (the whole process: see below)"),
    "sources_failing": ("sources failing or stuck now (the whole process: a rule reading only "
                        "these two, without `model`, is one alert without a model label)"),
}
"""The figures a rule can compare, with what each means (README "Alerting" lists them)."""

FLAG_NAMES: dict[str, str] = {
    "drifted": "the model's one drift verdict (any kind of drift fired)",
}
"""The yes/no figures a rule can use on their own."""

NameKind = Literal["number", "flag"]

FAMILIES: dict[str, tuple[NameKind, str]] = {
    "feature_drift": ("number", "the feature's drift statistic (as neural_feature_drift)"),
    "feature_drifted": ("flag", "whether the feature drifted"),
    "slo_compliance": ("number", "the SLO's good fraction over its window (named [[slo]])"),
    "slo_budget_remaining": ("number", "the SLO's error budget left, 1 to below 0"),
}
"""Names with a member: a feature or an `[[slo]]` of the model."""

Operator = Literal["<", "<=", ">", ">=", "==", "!="]
Truth = bool | None
"""A condition's value: None is unknown (a figure without data)."""
Lookup = Callable[[str], float | bool | None]
"""A figure by name, None when it has no data."""


class ConditionError(ValueError):
    """Why a `when` text is not a condition; worded to follow "when: "."""


@dataclass(frozen=True, slots=True)
class Number:
    value: float


@dataclass(frozen=True, slots=True)
class Name:
    name: str
    kind: NameKind


@dataclass(frozen=True, slots=True)
class Compare:
    op: Operator
    left: Number | Name
    right: Number | Name


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Compare | Not | And | Or | Name


Check = Callable[[Lookup], Truth]


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed `when`: its text, its tree, every name it reads, and the tree turned into
    nested closures once (`compile_node`), so an evaluation dispatches on nothing."""

    text: str
    root: Node
    names: frozenset[str]
    check: Check

    def holds(self, lookup: Lookup) -> bool:
        """Whether the condition is true; unknown (no data) is not."""
        return self.check(lookup) is True


def compile_node(node: Node) -> Check:
    """The node's three-valued truth (module docstring) as a function of the figures."""
    if isinstance(node, Compare):
        return _compare(_COMPARE[node.op], _operand(node.left), _operand(node.right))
    if isinstance(node, Name):
        name = node.name

        def flag(lookup: Lookup) -> Truth:
            value = lookup(name)
            return None if value is None else bool(value)

        return flag
    if isinstance(node, Not):
        inner = compile_node(node.operand)

        def negation(lookup: Lookup) -> Truth:
            truth = inner(lookup)
            return None if truth is None else not truth

        return negation
    left, right = compile_node(node.left), compile_node(node.right)
    return _conjunction(left, right) if isinstance(node, And) else _disjunction(left, right)


def _compare(operator: Callable[[float, float], bool], left: Callable[[Lookup], float | None],
             right: Callable[[Lookup], float | None]) -> Check:
    def comparison(lookup: Lookup) -> Truth:
        a, b = left(lookup), right(lookup)
        return None if a is None or b is None else operator(a, b)

    return comparison


def _conjunction(left: Check, right: Check) -> Check:
    def conjunction(lookup: Lookup) -> Truth:
        first = left(lookup)
        if first is False:
            return False
        second = right(lookup)
        return False if second is False else (None if first is None or second is None else True)

    return conjunction


def _disjunction(left: Check, right: Check) -> Check:
    def disjunction(lookup: Lookup) -> Truth:
        first = left(lookup)
        if first is True:
            return True
        second = right(lookup)
        return True if second is True else (None if first is None or second is None else False)

    return disjunction


def _operand(operand: Number | Name) -> Callable[[Lookup], float | None]:
    if isinstance(operand, Number):
        constant = operand.value
        return lambda _: constant
    name = operand.name

    def figure(lookup: Lookup) -> float | None:
        value = lookup(name)
        if value is None:
            return None
        number = float(value)
        return number if math.isfinite(number) else None

    return figure


_COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+|\["[^"\\\x00-\x1f]*"\])?)
      | (?P<op><=|>=|==|!=|<|>)
      | (?P<paren>[()])
      | (?P<minus>-)
    """,
    re.VERBOSE | re.ASCII,
)
"""ASCII only: `\\d` would otherwise take any Unicode digit ("٣" as 3), which no reader of the
rule would see as a number."""
_KEYWORDS = frozenset({"and", "or", "not"})


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int


def name_kind(name: str) -> NameKind | None:
    """The kind of a figure's name, None if it names no figure."""
    if name in NUMBER_NAMES:
        return "number"
    if name in FLAG_NAMES:
        return "flag"
    family, member = split_member(name)
    if member is None or family not in FAMILIES or not member:
        return None
    if len(member) > MAX_MEMBER_CHARS:
        return None
    return FAMILIES[family][0]


def split_member(name: str) -> tuple[str, str | None]:
    """`feature_drift.amount` or `feature_drift["amount"]` as ("feature_drift", "amount");
    a plain name as (name, None)."""
    if name.endswith('"]') and '["' in name:
        family, _, rest = name.partition('["')
        return family, rest[:-2]
    family, dot, member = name.partition(".")
    return (family, member) if dot else (name, None)


def parse(text: str) -> Condition:
    """The condition `text` says, or `ConditionError` naming what is wrong and where."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"is {len(text)} characters long, at most {MAX_LENGTH} allowed")
    parser = _Parser(text, _tokens(text))
    root = parser.condition(0)
    parser.expect_end()
    if not _is_truth(root):
        raise ConditionError(f"{_describe(root)} is a number, not a condition: compare it, "
                             f"e.g. {_describe(root)} > 0")
    return Condition(text=text, root=root, names=frozenset(parser.names),
                     check=compile_node(root))


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ConditionError(f"unexpected character {text[position]!r} at {position + 1}")
        kind = match.lastgroup or ""
        if kind != "space":
            if len(tokens) >= MAX_TOKENS:
                raise ConditionError(f"has more than {MAX_TOKENS} tokens")
            word = match.group()
            if kind == "name" and word in _KEYWORDS:
                kind = word
            elif kind == "name" and name_kind(word) is None:
                raise ConditionError(f"unknown name {word!r} at {position + 1}"
                                     f"{_suggestion(word)}")
            tokens.append(_Token(kind, word, position + 1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.position = 0
        self.names: set[str] = set()

    def peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise ConditionError("ends too early: a comparison or name is missing")
        self.position += 1
        return token

    def expect_end(self) -> None:
        token = self.peek()
        if token is not None:
            raise ConditionError(f"unexpected {token.text!r} at {token.at}")

    def condition(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ConditionError(f"nests deeper than {MAX_DEPTH} levels")
        node = self.conjunction(depth)
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            node = Or(self._truth(node, "or"), self._truth(self.conjunction(depth), "or"))
        return node

    def conjunction(self, depth: int) -> Node:
        node = self.negation(depth)
        while (token := self.peek()) is not None and token.kind == "and":
            self.take()
            node = And(self._truth(node, "and"), self._truth(self.negation(depth), "and"))
        return node

    def negation(self, depth: int) -> Node:
        token = self.peek()
        if token is not None and token.kind == "not":
            self.take()
            if depth + 1 > MAX_DEPTH:
                raise ConditionError(f"nests deeper than {MAX_DEPTH} levels")
            return Not(self._truth(self.negation(depth + 1), "not"))
        return self.comparison(depth)

    def comparison(self, depth: int) -> Node:
        token = self.peek()
        if token is not None and token.text == "(":
            self.take()
            inner = self.condition(depth + 1)
            closing = self.take()
            if closing.text != ")":
                raise ConditionError(f"expected ')' at {closing.at}, got {closing.text!r}")
            return inner
        left = self.operand()
        following = self.peek()
        if following is None or following.kind != "op":
            if isinstance(left, Number):
                raise ConditionError(f"the number {_number_text(left)} stands alone: "
                                     "compare a name with it")
            return left
        operator = self.take().text
        right = self.operand()
        if isinstance(left, Number) and isinstance(right, Number):
            raise ConditionError(f"{_number_text(left)} {operator} {_number_text(right)} "
                                 "compares two numbers: compare a name")
        for side in (left, right):
            if isinstance(side, Name) and side.kind == "flag":
                raise ConditionError(f"{side.name} is yes or no: use it on its own "
                                     f"({side.name} or not {side.name}), not in a comparison")
        after = self.peek()
        if after is not None and after.kind == "op":
            raise ConditionError(f"comparisons do not chain ({after.text!r} at {after.at}): "
                                 "join them with 'and'")
        return Compare(cast(Operator, operator), left, right)

    def operand(self) -> Number | Name:
        token = self.take()
        if token.kind == "minus":
            number = self.take()
            if number.kind != "number":
                raise ConditionError(f"'-' at {token.at} must precede a number")
            return Number(-_number(number))
        if token.kind == "number":
            return Number(_number(token))
        if token.kind == "name":
            self.names.add(token.text)
            return Name(token.text, name_kind(token.text) or "number")
        raise ConditionError(f"unexpected {token.text!r} at {token.at}")

    def _truth(self, node: Node, word: str) -> Node:
        if not _is_truth(node):
            raise ConditionError(f"'{word}' needs conditions on both sides; "
                                 f"{_describe(node)} is a number: compare it")
        return node


def _is_truth(node: Node | Number) -> bool:
    return not isinstance(node, Number) and not (isinstance(node, Name) and node.kind == "number")


def _describe(node: Node | Number) -> str:
    if isinstance(node, Name):
        return node.name
    return _number_text(node) if isinstance(node, Number) else "it"


def _number_text(number: Number) -> str:
    return f"{number.value:g}"


def _number(token: _Token) -> float:
    if len(token.text) > MAX_NUMBER_CHARS:
        raise ConditionError(f"number at {token.at} is longer than {MAX_NUMBER_CHARS} "
                             "characters")
    value = float(token.text)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ConditionError(f"number at {token.at} is beyond {MAX_NUMBER:g}")
    return value


def _suggestion(name: str) -> str:
    known = [*NUMBER_NAMES, *FLAG_NAMES, *(f"{family}.NAME" for family in FAMILIES)]
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
