"""The alerting's saved state under `<storage>/alerts/`: what fires, what was sent, silences.

- `state.json`: the firing alerts (with their acknowledgements), the groups and what each
  channel was last sent of each (`SentEntry`), the recent resolved alerts and delivery
  outcomes. Written whole after each change, atomically (a temporary file, fsync, rename), in a
  thread of its own. A restart reads it back, so an alert that was sent is not sent again and
  one that resolved meanwhile gets its resolved notification.
- `silences/<id>.json`: one file per silence, so that `neural-tui alerts silence` (another
  process) and the running engine never overwrite each other's; lifting a silence deletes its
  file. The engine reads the folder again every `SILENCES_RELOAD_SECONDS`.

The files are this program's own, but a disk can fill up or a crash can truncate one: a file
that cannot be read as written is logged in one line, set aside (renamed `*.corrupt`) and
alerting starts afresh rather than failing.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import math
import os
import re
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neural_tui.alerts.lifecycle import Group, Lifecycle, SentEntry, Timing, Tracked
from neural_tui.alerts.notification import Alert
from neural_tui.alerts.view import AlertEntry, AlertsView, DeliveryRecord, Silence
from neural_tui.safe_text import plain
from neural_tui.sources.workers import DaemonExecutor
from neural_tui.storage_layout import ALERTS_FOLDER

log = logging.getLogger(__name__)

STATE_FILE = "state.json"
SILENCES_FOLDER = "silences"
FORMAT = 1
MAX_STATE_BYTES = 64 * 1024 * 1024
MAX_SILENCE_BYTES = 64 * 1024
SILENCES_RELOAD_SECONDS = 2.0
WRITE_TIMEOUT_SECONDS = 5.0
"""How long closing waits for the last write before giving up on it."""
_SILENCE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class StateError(ValueError):
    """A saved file that does not hold what this program writes."""


def alerts_folder(storage: Path) -> Path:
    return storage / ALERTS_FOLDER


def new_silence_id() -> str:
    return secrets.token_hex(8)


def write_atomic(path: Path, data: bytes) -> None:
    """`data` at `path`, all or nothing: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_json(path: Path, limit: int) -> Any | None:
    """The JSON at `path`; None if there is no file; `StateError` if it is not JSON."""
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        return None
    if len(data) > limit:
        raise StateError(f"larger than {limit} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise StateError(f"not JSON ({exc})") from None


def _set_aside(path: Path, problem: str) -> None:
    log.error("%s: cannot be read (%s); set aside as %s.corrupt, alerting starts afresh",
              plain(str(path)), plain(problem), path.name)
    try:
        path.replace(path.with_name(f"{path.name}.corrupt"))
    except OSError as exc:
        log.error("%s: cannot set it aside: %s", plain(str(path)), exc.strerror)


# Encoding: plain JSON objects, checked field by field on the way back.

def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise StateError(f"expected a string, got {type(value).__name__}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StateError(f"expected a finite number, got {type(value).__name__}")
    return float(value)


def _optional_number(value: Any) -> float | None:
    return None if value is None else _number(value)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise StateError("expected an object")
    return {_text(k): _text(v) for k, v in value.items()}


def _numbers(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise StateError("expected an object")
    return {_text(k): _number(v) for k, v in value.items()}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise StateError("expected an array")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StateError("expected an object")
    return value


def encode_alert(alert: Alert) -> dict[str, Any]:
    return {"labels": dict(alert.labels), "annotations": dict(alert.annotations),
            "status": alert.status, "starts_at": alert.starts_at, "ends_at": alert.ends_at,
            "values": dict(alert.values)}


def decode_alert(raw: Any) -> Alert:
    raw = _object(raw)
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        raise StateError("alert status must be firing or resolved")
    return Alert(labels=_strings(raw.get("labels")), annotations=_strings(raw.get("annotations")),
                 status=status, starts_at=_number(raw.get("starts_at")),
                 ends_at=_optional_number(raw.get("ends_at")),
                 values=_numbers(raw.get("values", {})))


def _encode_delivery(record: DeliveryRecord) -> dict[str, Any]:
    return {"channel": record.channel, "outcome": record.outcome, "at": record.at,
            "attempts": record.attempts, "detail": record.detail}


def _decode_delivery(raw: Any) -> DeliveryRecord:
    raw = _object(raw)
    outcome = raw.get("outcome")
    if outcome not in ("sent", "failed", "retrying", "dropped"):
        raise StateError("unknown delivery outcome")
    attempts = raw.get("attempts")
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise StateError("attempts must be an integer")
    return DeliveryRecord(channel=_text(raw.get("channel")), outcome=outcome,
                          at=_number(raw.get("at")), attempts=attempts,
                          detail=_text(raw.get("detail", "")))


def encode_silence(silence: Silence) -> dict[str, Any]:
    return {"id": silence.id, "matchers": dict(silence.matchers),
            "starts_at": silence.starts_at, "ends_at": silence.ends_at,
            "comment": silence.comment, "author": silence.author}


def decode_silence(raw: Any) -> Silence:
    raw = _object(raw)
    silence_id = _text(raw.get("id"))
    if not _SILENCE_ID.fullmatch(silence_id):
        raise StateError("bad silence id")
    matchers = _strings(raw.get("matchers"))
    if not matchers:
        raise StateError("a silence needs a matcher")
    return Silence(id=silence_id, matchers=matchers, starts_at=_number(raw.get("starts_at")),
                   ends_at=_number(raw.get("ends_at")), comment=_text(raw.get("comment", "")),
                   author=_text(raw.get("author", "")))


def _encode_entry(entry: AlertEntry) -> dict[str, Any]:
    return {"alert": encode_alert(entry.alert), "since": entry.since,
            "deliveries": [_encode_delivery(d) for d in entry.deliveries]}


def _decode_resolved(raw: Any) -> AlertEntry:
    raw = _object(raw)
    return AlertEntry(alert=decode_alert(raw.get("alert")), state="resolved",
                      since=_number(raw.get("since")),
                      deliveries=tuple(_decode_delivery(d) for d in _list(raw.get("deliveries",
                                                                                   []))))


def encode_state(lifecycle: Lifecycle) -> bytes:
    """The lifecycle's firing alerts, groups, log and history as `state.json` holds them.

    Pending alerts are left out: a restart starts their `for` again.
    """
    firing = {fingerprint: tracked for fingerprint, tracked in lifecycle.alerts.items()
              if tracked.firing}
    state = {
        "format": FORMAT,
        "alerts": [
            {"labels": t.labels, "annotations": t.annotations, "values": t.values,
             "active_since": t.active_since, "fired_at": t.fired_at,
             "for_seconds": t.for_seconds, "repeat_seconds": t.repeat_seconds,
             "channels": list(t.channels), "acknowledged_by": t.acknowledged_by,
             "deliveries": [_encode_delivery(d) for d in lifecycle.deliveries.get(f, ())]}
            for f, t in firing.items()
        ],
        "groups": [
            {"channel": g.channel, "key": g.key, "labels": g.labels, "next_flush": g.next_flush,
             "members": sorted(m for m in g.members if m in firing),
             "resolved": [encode_alert(a) for a in g.resolved.values()]}
            for g in lifecycle.groups.values()
        ],
        "sent": [
            {"channel": channel, "key": key, "firing": sorted(e.firing),
             "resolved": sorted(e.resolved), "at": e.at, "notification_id": e.notification_id}
            for (channel, key), e in lifecycle.sent.items()
        ],
        "resolved": [_encode_entry(entry) for entry in lifecycle.resolved],
    }
    return json.dumps(state, separators=(",", ":")).encode()


def restore_state(lifecycle: Lifecycle, raw: Any) -> None:
    """Fill an empty lifecycle from a decoded `state.json`; `StateError` leaves it empty."""
    try:
        _restore(lifecycle, _object(raw))
    except (StateError, TypeError, KeyError, AttributeError) as exc:
        lifecycle.alerts.clear()
        lifecycle.groups.clear()
        lifecycle.sent.clear()
        lifecycle.resolved.clear()
        lifecycle.deliveries.clear()
        raise StateError(str(exc) or type(exc).__name__) from None


def _restore(lifecycle: Lifecycle, state: dict[str, Any]) -> None:
    if state.get("format") != FORMAT:
        raise StateError(f"format {state.get('format')!r}, expected {FORMAT}")
    for raw in _list(state.get("alerts")):
        raw = _object(raw)
        channels = tuple(_text(c) for c in _list(raw.get("channels")))
        tracked = Tracked(labels=_strings(raw.get("labels")),
                          annotations=_strings(raw.get("annotations")),
                          values=_numbers(raw.get("values")),
                          active_since=_number(raw.get("active_since")),
                          fired_at=_number(raw.get("fired_at")),
                          for_seconds=_number(raw.get("for_seconds")),
                          repeat_seconds=_optional_number(raw.get("repeat_seconds")),
                          channels=channels,
                          acknowledged_by=_optional_text(raw.get("acknowledged_by")))
        fingerprint = tracked.alert().fingerprint
        lifecycle.alerts[fingerprint] = tracked
        deliveries = [_decode_delivery(d) for d in _list(raw.get("deliveries", []))]
        if deliveries:
            lifecycle.deliveries[fingerprint] = deliveries
    for raw in _list(state.get("groups")):
        raw = _object(raw)
        group = Group(channel=_text(raw.get("channel")), key=_text(raw.get("key")),
                      labels=_strings(raw.get("labels")),
                      next_flush=_number(raw.get("next_flush")),
                      members={m for m in map(_text, _list(raw.get("members")))
                               if m in lifecycle.alerts})
        for alert in map(decode_alert, _list(raw.get("resolved"))):
            group.resolved[alert.fingerprint] = alert
        lifecycle.groups[(group.channel, group.key)] = group
    for raw in _list(state.get("sent")):
        raw = _object(raw)
        entry = SentEntry(firing=frozenset(map(_text, _list(raw.get("firing")))),
                          resolved=frozenset(map(_text, _list(raw.get("resolved")))),
                          at=_number(raw.get("at")),
                          notification_id=_text(raw.get("notification_id")))
        lifecycle.sent[(_text(raw.get("channel")), _text(raw.get("key")))] = entry
    lifecycle.resolved.extend(_decode_resolved(r) for r in _list(state.get("resolved")))


def load_state(folder: Path, lifecycle: Lifecycle) -> bool:
    """Restore `lifecycle` from `folder/state.json`; False (after one log line, the file set
    aside) when it is unreadable, or when there is none."""
    path = folder / STATE_FILE
    try:
        raw = _read_json(path, MAX_STATE_BYTES)
        if raw is None:
            return False
        restore_state(lifecycle, raw)
    except (OSError, StateError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        _set_aside(path, problem)
        return False
    return True


def load_silences(folder: Path) -> dict[str, Silence]:
    """Every silence saved under `folder/silences/`; an unreadable one is logged and set
    aside."""
    silences: dict[str, Silence] = {}
    directory = folder / SILENCES_FOLDER
    try:
        paths = sorted(directory.glob("*.json"))
    except OSError as exc:
        log.error("%s: cannot list silences: %s", plain(str(directory)), exc.strerror)
        return silences
    for path in paths:
        try:
            silence = decode_silence(_read_json(path, MAX_SILENCE_BYTES))
        except (OSError, StateError) as exc:
            _set_aside(path, exc.strerror if isinstance(exc, OSError) and exc.strerror
                       else str(exc))
            continue
        silences[silence.id] = silence
    return silences


def save_silence(folder: Path, silence: Silence) -> None:
    """Write one silence (blocking: call from a thread or a one-shot command)."""
    if not _SILENCE_ID.fullmatch(silence.id):
        raise ValueError(f"bad silence id {silence.id!r}")
    data = json.dumps(encode_silence(silence), indent=1).encode()
    write_atomic(folder / SILENCES_FOLDER / f"{silence.id}.json", data)


def delete_silence(folder: Path, silence_id: str) -> bool:
    """Remove one silence's file; False if there was none (or the id cannot be one)."""
    if not _SILENCE_ID.fullmatch(silence_id):
        return False
    path = folder / SILENCES_FOLDER / f"{silence_id}.json"
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def read_saved_view(storage: Path, now: float) -> AlertsView:
    """The alerts as the last running engine saved them, for a process that runs none (the
    `neural-tui alerts` command): firing alerts, the resolved ones, the active silences.
    Pending alerts are not saved, so none appear."""
    folder = alerts_folder(storage)
    lifecycle = Lifecycle(Timing())
    load_state(folder, lifecycle)
    for silence in load_silences(folder).values():
        if silence.ends_at > now:
            lifecycle.add_silence(silence)
    return lifecycle.view(now)


class StateWriter:
    """Writes the latest state and the silence changes in one daemon thread, in order.

    Writes of `state.json` coalesce: while one is in progress, only the newest payload waits.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._executor = DaemonExecutor(1, f"alerts {folder}")
        self._lock = threading.Lock()
        self._pending: bytes | None = None

    def save_state(self, payload: bytes) -> None:
        with self._lock:
            waiting = self._pending is not None
            self._pending = payload
        if not waiting:
            self._executor.submit(self._write_state)

    def _write_state(self) -> None:
        with self._lock:
            payload, self._pending = self._pending, None
        try:
            if payload is not None:
                write_atomic(self.folder / STATE_FILE, payload)
        except OSError as exc:
            log.error("%s: cannot save the alert state: %s", plain(str(self.folder)),
                      exc.strerror)

    def run(self, call: Callable[[], Any]) -> None:
        """`call` in the writer's thread, after the writes asked before it; errors logged."""

        def logged() -> None:
            try:
                call()
            except OSError as exc:
                log.error("%s: %s", plain(str(self.folder)), exc.strerror or exc)

        self._executor.submit(logged)

    def submit(self, call: Callable[[], Any]) -> Any:
        """A future of `call` run in the writer's thread, in order with the writes."""
        return self._executor.submit(call)

    def wait(self, timeout: float = WRITE_TIMEOUT_SECONDS) -> bool:
        """Wait for every write asked so far; False if they did not finish in time."""
        try:
            self._executor.submit(lambda: None).result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        return True
