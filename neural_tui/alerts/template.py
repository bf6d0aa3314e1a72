"""A rule's `summary`: text with `{placeholder}`s, checked at load, filled safely at fire time.

Not `str.format`: a placeholder is only a name (`{model}`, `{p95_latency_ms}`,
`{feature_drift.amount}`), never an attribute, an index or a format spec, so a template cannot
reach into an object, and every placeholder was checked against the known ones at load, so
filling it never raises. `{{` and `}}` are literal braces. Values are formatted by the caller
(`fill` takes strings); a value missing at fire time reads "n/a".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

MAX_TEMPLATE_CHARS = 1000
MISSING = "n/a"
_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")


class TemplateError(ValueError):
    """Why a summary is not a valid template; worded to follow "summary: "."""


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and placeholder names, in order."""

    parts: tuple[tuple[str, bool], ...]
    """(text, is_placeholder) pairs."""

    @property
    def placeholders(self) -> frozenset[str]:
        return frozenset(text for text, placeholder in self.parts if placeholder)

    def fill(self, values: Mapping[str, str]) -> str:
        return "".join(values.get(text, MISSING) if placeholder else text
                       for text, placeholder in self.parts)


def parse_template(text: str, known: Callable[[str], bool]) -> Template:
    """The template `text`, whose every placeholder `known` accepts; else `TemplateError`."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"is {len(text)} characters long, at most {MAX_TEMPLATE_CHARS} "
                            "allowed")
    parts: list[tuple[str, bool]] = []
    for match in _PART.finditer(text):
        piece = match.group()
        if piece in ("{{", "}}"):
            parts.append((piece[0], False))
        elif piece in ("{", "}"):
            raise TemplateError(f"unmatched {piece!r} at {match.start() + 1} (write {piece * 2} "
                                "for a literal brace)")
        elif match.group(1) is not None:
            name = match.group(1).strip()
            if not known(name):
                raise TemplateError(f"unknown placeholder {{{name}}}")
            parts.append((name, True))
        else:
            parts.append((piece, False))
    return Template(tuple(parts))
