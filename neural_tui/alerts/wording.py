"""How alerts are written for people, alike in the console and in `neural-tui alerts`: an
alert's title, an age rounded to the unit that matters, and a date with its UTC time."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

MISSING_TIME = "n/a"


def alert_title(labels: Mapping[str, str]) -> str:
    """The rule's name, and for an SLO's alert the SLO too (`slo_burn_rate latency-250ms`):
    alerts of several SLOs of one model share the rule name and would otherwise read alike."""
    name = labels.get("alertname", "")
    slo = labels.get("slo")
    return f"{name} {slo}" if slo is not None else name


def format_age(seconds: float) -> str:
    """`45s`, `12m`, `3h12m`, `2d4h`: how long ago, to the unit that matters."""
    if not math.isfinite(seconds) or seconds < 0:
        return "0s"
    whole = int(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def format_time_utc(unix_seconds: float) -> str:
    """Date and UTC time: an alert may have started days ago, in another zone than the reader."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix_seconds))
    except (OverflowError, OSError, ValueError):
        return MISSING_TIME
