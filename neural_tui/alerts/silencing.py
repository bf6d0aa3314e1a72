"""What a person asks for when they silence an alert, checked the same way wherever they ask.

The console's silence dialog and `neural-tui alerts silence` both turn a rule name, an optional
model, a duration such as "2h" and a comment into the matchers and seconds that
`AlertCommands.silence` takes, with the same limits and the same one-line errors; the engine
checks every silence it makes with `check_silence`, so no caller gets around them.

An SLO's alerts all share a rule name (`slo_burn_rate`, `slo_no_data`), so a silence may name
the SLO instead of (or besides) the rule: an `slo` matcher, which the saved matchers already
hold as any other label, so silence files keep their format.
"""

from __future__ import annotations

import getpass
import math
import unicodedata
from collections.abc import Mapping

from neural_tui.config import parse_duration

MIN_SILENCE_SECONDS = 60
MAX_SILENCE_SECONDS = 90 * 86_400
"""A silence longer than a quarter is a rule that should be changed, not muted."""
MAX_COMMENT_CHARS = 1_000
MAX_AUTHOR_CHARS = 200
MAX_SLO_NAME_CHARS = 200
"""Longer than any SLO name worth typing; a pasted page of text is refused, not saved."""
SLO_LABEL = "slo"
"""The label every alert of an SLO carries: its name."""
_DURATION_RANGE = f"the duration must be from 1m to {MAX_SILENCE_SECONDS // 86_400}d"


class SilenceRequestError(ValueError):
    """A silence that cannot be made, with a message fit for one line."""


def check_silence(matchers: Mapping[str, str], seconds: float, comment: str,
                  author: str) -> None:
    """Refuse a silence without matcher, of a length out of range, or with an overlong comment
    or author (the limits above, for every way of making one)."""
    if not matchers:
        raise SilenceRequestError("a silence needs at least one matcher (label = value)")
    if not (math.isfinite(seconds) and MIN_SILENCE_SECONDS <= seconds <= MAX_SILENCE_SECONDS):
        raise SilenceRequestError(_DURATION_RANGE)
    if len(comment) > MAX_COMMENT_CHARS:
        raise SilenceRequestError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    if len(author) > MAX_AUTHOR_CHARS:
        raise SilenceRequestError(f"the author is longer than {MAX_AUTHOR_CHARS} characters")


def silence_matchers(rule: str | None, model: str | None = None,
                     slo: str | None = None) -> dict[str, str]:
    """Matchers for one rule, on one model or (without `model`) on every model; with `slo`,
    only that SLO's alerts (without `rule`: all of them, burn and no-data alike).

    `alertname` is the label every alert of a rule carries, SLO burn alerts included.
    """
    if rule is None and slo is None:
        raise SilenceRequestError("a silence needs a rule name, an SLO name or both")
    matchers: dict[str, str] = {}
    if rule is not None:
        if not rule.strip():
            raise SilenceRequestError("the rule name is empty")
        matchers["alertname"] = rule
    if model:
        matchers["model"] = model
    if slo is not None:
        matchers[SLO_LABEL] = silence_slo(slo)
    return matchers


def silence_slo(name: str) -> str:
    """An SLO name as typed, refused when it could name no SLO: empty, with a control
    character, or overlong. Kept exactly (not stripped): the label it matches is exact."""
    if not name.strip():
        raise SilenceRequestError("the SLO name is empty")
    if len(name) > MAX_SLO_NAME_CHARS:
        raise SilenceRequestError(f"the SLO name is longer than {MAX_SLO_NAME_CHARS} characters")
    control = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise SilenceRequestError(f"the SLO name has a control character (U+{ord(control):04X})")
    return name


def silence_seconds(text: str) -> int:
    """The length of a silence written "2h", "90m" or "1d12h", within the allowed range."""
    seconds = parse_duration(text)
    if seconds is None:
        raise SilenceRequestError(f"duration {text.strip()[:20]!r} is not like 2h, 90m or 1d12h")
    if not MIN_SILENCE_SECONDS <= seconds <= MAX_SILENCE_SECONDS:
        raise SilenceRequestError(_DURATION_RANGE)
    return seconds


def silence_comment(text: str) -> str:
    """The comment, which says why the alert is muted: required, and of a readable length."""
    comment = text.strip()
    if not comment:
        raise SilenceRequestError("a silence needs a comment saying why")
    if len(comment) > MAX_COMMENT_CHARS:
        raise SilenceRequestError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    return comment


def silence_author(text: str) -> str:
    """Who asked; "unknown" when nobody is named."""
    author = text.strip() or "unknown"
    if len(author) > MAX_AUTHOR_CHARS:
        raise SilenceRequestError(f"the author is longer than {MAX_AUTHOR_CHARS} characters")
    return author


def login_name() -> str:
    """Who runs this process, to sign acknowledgements and silences; "unknown" if it cannot
    say (no user database entry, as in some containers)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
