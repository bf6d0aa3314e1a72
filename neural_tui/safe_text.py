"""Untrusted strings (from logs) made safe to show in the console and on stderr.

Model names, versions, error types and file names come from files that anyone able to write a log
controls. Shown through Rich markup they could restyle or hide text; passed to the terminal raw
they could move the cursor, rename the window or worse. Everything from a log goes through
`safe_text` (for Rich) or `plain` (for stderr and log lines), which keep it literal and make
every control character visible.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rich.text import Text

PLACEHOLDER_STYLE = "reverse"
"""How a replaced control character is shown, so it reads as a substitution, not as data."""

_C0_PICTURES_START = 0x2400
"""U+2400.. are the Unicode "control pictures" for C0 controls: ESC shows as U+241B."""

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""C0, DEL and C1 controls, line/paragraph separators, bidi overrides (which reorder text) and
lone surrogates (a JSON `\\ud800` escape decodes to one, and no terminal or UTF-8 stream can
take it)."""


def placeholder(char: str) -> str:
    """The visible stand-in for one unsafe character."""
    code = ord(char)
    if code < 0x20:
        return chr(_C0_PICTURES_START + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def safe_text(value: str, style: str = "") -> Text:
    """`value` as a `Text` shown literally: no markup, controls replaced by visible placeholders."""
    text = Text(style=style, end="")
    position = 0
    for match in _UNSAFE.finditer(value):
        text.append(value[position : match.start()])
        text.append(placeholder(match.group()), style=PLACEHOLDER_STYLE)
        position = match.end()
    text.append(value[position:])
    return text


def plain(value: str) -> str:
    """`value` for a plain-text stream: every unsafe character replaced by its placeholder."""
    return _UNSAFE.sub(lambda match: placeholder(match.group()), value)


class PlainFormatter(logging.Formatter):
    """A log formatter whose messages never carry a control character from a log's content.

    A traceback that follows is made plain line by line, so it keeps its own line breaks (its
    exception messages may quote log content too).
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        return plain(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        return "\n".join(plain(line) for line in super().formatException(ei).split("\n"))
