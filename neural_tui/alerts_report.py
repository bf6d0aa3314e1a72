"""`neural-tui alerts`: what fires and what fired, read from the state the running alerting
saved under `<storage>/alerts/`; silences written where that process picks them up; and a
test notification through a configured channel.

This process runs no alerting of its own: it reads `state.json` and the silence files
(`neural_tui.alerts.store`), and writes or removes one silence file, which the running engine
reads again within seconds. Everything shown comes from logs and rules, so it goes through
`safe_text` (tables) or `plain` (lines); JSON carries it as data.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from neural_tui.alerts.engine import make_silence
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.alerts.silencing import (
    SLO_LABEL,
    SilenceRequestError,
    silence_author,
    silence_comment,
    silence_matchers,
    silence_seconds,
)
from neural_tui.alerts.store import (
    alerts_folder,
    delete_silence,
    load_silences,
    read_saved_view,
    save_silence,
)
from neural_tui.alerts.view import AlertEntry, AlertsView, DeliveryRecord, Silence
from neural_tui.alerts.wording import alert_title, format_age, format_time_utc
from neural_tui.config import Settings, parse_duration
from neural_tui.engines.slo import SLO_ALERT_NAMES
from neural_tui.errors import UsageError
from neural_tui.reports import report_console
from neural_tui.safe_text import plain, safe_text
from neural_tui.storage_layout import require_storage

EXIT_OK = 0
EXIT_FAILED = 1
SEVERITIES = ("info", "warning", "critical")
MAX_SINCE_SECONDS = 3650 * 86_400
"""`--since` reaches back at most ten years (a longer duration is a typing slip)."""
MAX_CELL_CHARS = 120
"""A table cell longer than this is cut with an ellipsis (`--json` keeps every character)."""


def parse_since(text: str, now: float, *, flag: str = "--since") -> float:
    """The unix time `--since` (or `flag`) names: a duration back from `now` ("2h", "30m",
    "1d12h"), an ISO 8601 time ("2026-12-02T03:00:00Z"; without a zone, UTC) or unix
    seconds."""
    stripped = text.strip()
    seconds = parse_duration(stripped)
    if seconds is not None:
        if seconds > MAX_SINCE_SECONDS:
            raise UsageError(f"{flag} {stripped[:40]!r}: at most 3650d back")
        return now - seconds
    try:
        number = float(stripped)
    except ValueError:
        number = math.nan
    else:
        if math.isfinite(number) and 0 <= number <= now + MAX_SINCE_SECONDS:
            return number
    try:
        moment = datetime.fromisoformat(stripped)
    except ValueError:
        raise UsageError(f"{flag} {stripped[:40]!r}: not a duration (2h, 30m, 1d12h), an ISO "
                         "time (2026-12-02T03:00:00Z) or unix seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_severities(values: Iterable[str]) -> frozenset[str]:
    """The `--severity` values (repeatable or comma-separated); none given means every one."""
    chosen = {part.strip().lower() for value in values for part in value.split(",")}
    unknown = sorted(chosen - set(SEVERITIES))
    if unknown:
        raise UsageError(f"--severity {unknown[0][:40]!r}: must be one of "
                         f"{', '.join(SEVERITIES)}")
    return frozenset(chosen)


def selected(view: AlertsView, *, model: str | None, severities: frozenset[str],
             since: float | None) -> list[AlertEntry]:
    """Current alerts first, then resolved ones, each newest first; filtered.

    `since` keeps every current alert and the resolved ones that ended at or after it: what
    was going on at any time since then.
    """
    def keep(entry: AlertEntry) -> bool:
        labels = entry.alert.labels
        if model is not None and labels.get("model") != model:
            return False
        if severities and labels.get("severity") not in severities:
            return False
        if since is None or entry.state != "resolved":
            return True
        ended = entry.alert.ends_at if entry.alert.ends_at is not None else entry.since
        return ended >= since

    def newest_first(entries: Iterable[AlertEntry]) -> list[AlertEntry]:
        return sorted(entries, key=lambda entry: entry.since, reverse=True)

    return [entry for entry in (*newest_first(view.current), *newest_first(view.resolved))
            if keep(entry)]


def print_alerts(settings: Settings, *, model: str | None, as_json: bool,
                 severities: Iterable[str] = (), since: str | None = None,
                 now: float | None = None) -> int:
    """The saved alerts and active silences as a table, or as one JSON object."""
    clock = time.time() if now is None else now
    chosen = parse_severities(severities)
    since_at = parse_since(since, clock) if since is not None else None
    storage = settings.storage.path
    require_storage(storage)
    view = read_saved_view(storage, clock)
    entries = selected(view, model=model, severities=chosen, since=since_at)
    silences = sorted(view.silences, key=lambda s: s.ends_at)
    if as_json:
        print(json.dumps({
            "storage": str(storage),
            "alerts": [entry_json(entry) for entry in entries],
            "silences": [silence_json(silence) for silence in silences],
        }))
        return EXIT_OK
    console = report_console()
    console.print(_alerts_table(entries, storage_label=str(storage), now=clock))
    if silences:
        console.print(_silences_table(silences))
    return EXIT_OK


def silence_alerts(settings: Settings, *, rule: str | None, model: str | None, duration: str,
                   comment: str, author: str, as_json: bool, slo: str | None = None,
                   now: float | None = None) -> int:
    """Write a silence for `rule` and/or `slo` (on `model`, else on every model) that the
    running alerting reads within seconds, and a later run keeps."""
    if rule is None and slo is None:
        raise UsageError("alerts silence: name what to mute: --rule NAME, --slo NAME or both")
    try:
        matchers = silence_matchers(rule, model, slo)
        seconds = silence_seconds(duration)
        silence = make_silence(matchers, seconds, silence_comment(comment),
                               silence_author(author), time.time() if now is None else now)
    except (SilenceRequestError, ValueError) as exc:
        raise UsageError(f"alerts silence: {exc}") from None
    require_storage(settings.storage.path)
    folder = alerts_folder(settings.storage.path)
    try:
        save_silence(folder, silence)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot write the silence: {exc.strerror}") from None
    saved = read_saved_view(settings.storage.path, time.time())
    if rule is not None and not _rule_known(settings, saved, rule):
        print(f"neural-tui: warning: no configured rule or saved alert is named "
              f"{plain(rule)!r}: the silence mutes nothing until one is", file=sys.stderr)
    if slo is not None and not _slo_known(settings, saved, slo):
        print(f"neural-tui: warning: no configured SLO or saved alert is named "
              f"{plain(slo)!r}: the silence mutes nothing until one is", file=sys.stderr)
    elif rule is not None and slo is not None and not _rule_of_slo(settings, saved, rule, slo):
        print(f"neural-tui: warning: rule {plain(rule)!r} raises no alert of SLO "
              f"{plain(slo)!r} (an SLO's rules are {' and '.join(SLO_ALERT_NAMES)}): the "
              f"silence mutes nothing until one does", file=sys.stderr)
    if as_json:
        print(json.dumps(silence_json(silence)))
    else:
        print(plain(f"silenced {_matchers_text(silence.matchers)} until "
                    f"{format_time_utc(silence.ends_at)} (id {silence.id})"))
    return EXIT_OK


def unsilence_alerts(settings: Settings, *, silence_id: str, as_json: bool) -> int:
    """Remove a silence's file; the running alerting lifts it within seconds."""
    require_storage(settings.storage.path)
    folder = alerts_folder(settings.storage.path)
    try:
        removed = delete_silence(folder, silence_id)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot remove the silence: {exc.strerror}") from None
    if not removed:
        known = ", ".join(sorted(load_silences(folder))) or "none"
        raise UsageError(f"alerts unsilence: no silence {plain(silence_id)[:64]!r} in "
                         f"{folder} (known: {known})")
    if as_json:
        print(json.dumps({"unsilenced": silence_id}))
    else:
        print(f"lifted silence {silence_id}")
    return EXIT_OK


def test_channel(settings: Settings, *, channel: str, as_json: bool,
                 now: float | None = None) -> int:
    """Send one test notification through `channel`, waited for; exit 1 unless it was sent.

    The channel keeps its state in a scratch folder, not in the storage: the Alertmanager
    channel's list of alerts to re-send belongs to the running alerting, and the test alert
    must not join it.
    """
    from neural_tui.alerts.delivery import Delivery

    channels = settings.alerts.channels
    if channel not in channels:
        known = ", ".join(sorted(channels)) or "none configured"
        source = settings.source or "the config"
        raise UsageError(f"{source}: no channel {plain(channel)[:64]!r} in [alerts.channels] "
                         f"(known: {known})")
    with tempfile.TemporaryDirectory(prefix="neural-tui-alerts-test-") as scratch:
        delivery = Delivery.from_settings({channel: channels[channel]}, Path(scratch))
        record = delivery.send_now(test_notification(channel,
                                                     time.time() if now is None else now))
    if as_json:
        print(json.dumps(delivery_json(record)))
    else:
        # One attempt, never queued: an outcome the channel would retry is still a failure here.
        attempt = "sent" if record.outcome == "sent" else "failed (not retried)"
        detail = f": {record.detail}" if record.detail else ""
        print(plain(f"test notification to {channel}: {attempt}{detail}"))
    return EXIT_OK if record.outcome == "sent" else EXIT_FAILED


def test_notification(channel: str, now: float) -> Notification:
    """A firing info alert named `NeuralTuiTest`, unique per run so no receiver drops it as a
    repeat."""
    labels = {"alertname": "NeuralTuiTest", "severity": "info"}
    alert = Alert(labels=labels,
                  annotations={"summary": "Test notification from neural-tui alerts test"},
                  status="firing", starts_at=now)
    return Notification(id=f"test-{secrets.token_hex(8)}", channel=channel,
                        group_key="NeuralTuiTest", group_labels=labels, alerts=(alert,),
                        created_at=now)


def entry_json(entry: AlertEntry) -> dict[str, Any]:
    alert = entry.alert
    return {
        "state": entry.state,
        "alertname": alert.labels.get("alertname"),
        "severity": alert.labels.get("severity"),
        "model": alert.labels.get("model"),
        "slo": alert.labels.get(SLO_LABEL),
        "fingerprint": alert.fingerprint,
        "since": _finite(entry.since),
        "starts_at": _finite(alert.starts_at),
        "ends_at": _finite(alert.ends_at),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "values": {name: _finite(value) for name, value in alert.values.items()},
        "silenced_by": entry.silenced_by,
        "inhibited": entry.inhibited,
        "acknowledged_by": entry.acknowledged_by,
        "deliveries": [delivery_json(record) for record in entry.deliveries],
    }


def delivery_json(record: DeliveryRecord) -> dict[str, Any]:
    return {"channel": record.channel, "outcome": record.outcome, "at": _finite(record.at),
            "attempts": record.attempts, "detail": record.detail}


def silence_json(silence: Silence) -> dict[str, Any]:
    return {"id": silence.id, "matchers": dict(silence.matchers),
            "slo": silence.matchers.get(SLO_LABEL),
            "starts_at": _finite(silence.starts_at), "ends_at": _finite(silence.ends_at),
            "comment": silence.comment, "author": silence.author}


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: such a number is written as null."""
    return value if value is not None and math.isfinite(value) else None


def _alerts_table(entries: list[AlertEntry], *, storage_label: str, now: float) -> Table:
    title = safe_text(f"neural-tui alerts — {storage_label}")
    title.end = "\n"
    table = Table(title=title, title_justify="left")
    for column in ("severity", "state", "alert", "model", "since", "for", "summary", "sent"):
        table.add_column(column, justify="right" if column == "for" else "left")
    for entry in entries:
        labels = entry.alert.labels
        table.add_row(_cell(labels.get("severity", "")), _cell(_state(entry)),
                      _cell(alert_title(labels)), _cell(labels.get("model", "")),
                      format_time_utc(entry.since), format_age(now - entry.since),
                      _cell(entry.alert.annotations.get("summary", "")),
                      _cell(_deliveries(entry.deliveries)))
    if not entries:
        table.caption = "no alerts"
    return table


def _silences_table(silences: list[Silence]) -> Table:
    table = Table(title=Text("silences", end="\n"), title_justify="left")
    for column in ("id", "matchers", "until", "author", "comment"):
        table.add_column(column)
    for silence in silences:
        table.add_row(_cell(silence.id), _cell(_matchers_text(silence.matchers)),
                      format_time_utc(silence.ends_at), _cell(silence.author),
                      _cell(silence.comment))
    return table


def _state(entry: AlertEntry) -> str:
    """The state, and why a firing alert pages nobody when it does not."""
    if entry.silenced_by is not None:
        return f"{entry.state}, silenced"
    if entry.inhibited:
        return f"{entry.state}, inhibited"
    if entry.acknowledged_by is not None:
        return f"{entry.state}, acked by {entry.acknowledged_by}"
    return entry.state


def _deliveries(records: tuple[DeliveryRecord, ...]) -> str:
    """The last outcome per channel: `slack sent, mail retrying (3)`."""
    last: dict[str, DeliveryRecord] = {}
    for record in records:
        last[record.channel] = record
    return ", ".join(f"{record.channel} {record.outcome}"
                     + (f" ({record.attempts})" if record.attempts > 1 else "")
                     for record in last.values())


def _matchers_text(matchers: Mapping[str, str]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(matchers.items()))


def _cell(value: str) -> Text:
    if len(value) > MAX_CELL_CHARS:
        value = value[:MAX_CELL_CHARS - 1] + "…"
    return safe_text(value)


def _rule_known(settings: Settings, saved: AlertsView, rule: str) -> bool:
    """A configured rule, an SLO alert's rule while an SLO is configured, or a saved alert's."""
    if any(section.name == rule for section in settings.alerts.rules):
        return True
    if settings.slo and rule in SLO_ALERT_NAMES:
        return True
    return any(entry.alert.labels.get("alertname") == rule
               for entry in (*saved.current, *saved.resolved))


def _slo_known(settings: Settings, saved: AlertsView, slo: str) -> bool:
    if any(section.name == slo for section in settings.slo):
        return True
    return any(entry.alert.labels.get(SLO_LABEL) == slo
               for entry in (*saved.current, *saved.resolved))


def _rule_of_slo(settings: Settings, saved: AlertsView, rule: str, slo: str) -> bool:
    """Whether alerts of `rule` carry `slo`: the SLO's own rules do, a configured rule does
    when its labels set it, or a saved alert did."""
    if rule in SLO_ALERT_NAMES:
        return True
    if any(section.name == rule and section.labels.get(SLO_LABEL) == slo
           for section in settings.alerts.rules):
        return True
    return any(entry.alert.labels.get("alertname") == rule
               and entry.alert.labels.get(SLO_LABEL) == slo
               for entry in (*saved.current, *saved.resolved))
