"""Delivery: notifications to their channels without ever blocking, losing or repeating one.

`Delivery.submit` only appends to a channel's queue and returns. Each channel has its own
asyncio task (a slow or dead receiver delays only its own channel) which first writes what was
submitted to the outbox on disk, `<storage>/alerts/outbox/<channel>/<name>.json` (a temporary
name, then a rename, in a thread; the name is the submission time, a counter and a token of the
process, so it sorts in submission order and two processes on one storage never write the same
file), then attempts the oldest notification under a timeout, and
removes its file once the channel acknowledged it. A notification left in the outbox by a
stopped process is sent by the next one on the same storage; one acknowledged is never sent
again (the one exception: the process dies between the acknowledgement and the removal of the
file, a window of one `unlink`).

A failed attempt is retried with exponential backoff and jitter, or after the receiver's
`Retry-After` (bounded by `DeliveryLimits.max_retry_after`); a rejection that retrying cannot
change (an HTTP 4xx other than 408 and 429, an SMTP 5xx) fails at once, and so does a
notification still undelivered after `give_up_after`. A queue holds at most `max_pending`
notifications and `max_pending_bytes`: a new one beyond either bound drops the oldest that is not
being attempted (as Prometheus's notifier does: a newer notification carries its group's newer
state). Every attempt, and every drop, is counted per channel and outcome and reported to the
listener as a `DeliveryRecord`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import math
import os
import random
import re
import secrets
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from neural_tui.alerts.channels import Channel, ChannelError, build_channel
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.alerts.view import DeliveryOutcome, DeliveryRecord
from neural_tui.config import CHANNEL_NAME, ChannelSection
from neural_tui.safe_text import plain
from neural_tui.sources.workers import DaemonExecutor

log = logging.getLogger(__name__)

OUTBOX_FOLDER = Path("alerts") / "outbox"
"""Where, under the storage directory, the undelivered notifications wait."""
OUTCOMES: tuple[DeliveryOutcome, ...] = ("sent", "retrying", "failed", "dropped")

DeliveryListener = Callable[[Notification, DeliveryRecord], None]
"""Called on the event loop after each attempt or drop of a notification (the alert lifecycle
attaches the record to the notification's alerts); must not block."""

_T = TypeVar("_T")
HTTP_BACKENDS = ("anyio._backends._asyncio", "h11", "httpcore._async.http11")
_ENTRY_NAME = re.compile(r"(\d{20}-\d{9}-[0-9a-f]{16})\.json")
_PARTIAL_NAME = re.compile(r"\d{20}-\d{9}-[0-9a-f]{16}\.tmp")
"""An entry being written, or whose write a stopped process left unfinished: never renamed,
so never queued; removed once older than `PARTIAL_SECONDS`."""
PARTIAL_SECONDS = 3600.0
"""Older than this, a temporary entry is a crash's leftover, not another process's write."""
_PROCESS_TOKEN = secrets.token_hex(8)
_entry_numbers = itertools.count()


@dataclass(frozen=True, slots=True)
class DeliveryLimits:
    """How far delivery retries and how much it keeps waiting, per channel."""

    max_pending: int = 1000
    max_pending_bytes: int = 16 * 2**20
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    max_retry_after: float = 3600.0
    give_up_after: float = 86_400.0


@dataclass(slots=True)
class _Entry:
    notification: Notification
    payload: bytes
    name: str
    first_attempt: float | None = None
    attempts: int = 0
    not_before: float = 0.0
    stored: bool = False
    removed: bool = False


@dataclass(slots=True)
class _Lane:
    """One channel's queue, its outbox folder and its worker."""

    channel: Channel
    folder: Path
    entries: deque[_Entry] = field(default_factory=deque)
    ids: set[str] = field(default_factory=set)
    unstored: list[_Entry] = field(default_factory=list)
    store_scheduled: bool = False
    bytes: int = 0
    in_flight: _Entry | None = None
    discarded: list[_Entry] = field(default_factory=list)
    wake: asyncio.Event | None = None
    store_lock: asyncio.Lock | None = None
    storing: asyncio.Future[None] | None = None
    task: asyncio.Task[None] | None = None
    last_contact: float = 0.0


class Delivery:
    """The channels' queues and workers. `start` and `close` run on the event loop; `submit`
    may be called from any thread, before or after `start`; `send_now` is for callers outside
    the loop (`neural-tui alerts test`, the library)."""

    def __init__(self, channels: Iterable[Channel], storage: Path, *,
                 listener: DeliveryListener | None = None,
                 limits: DeliveryLimits | None = None,
                 clock: Callable[[], float] = time.time,
                 rng: random.Random | None = None) -> None:
        self.limits = limits or DeliveryLimits()
        self.outbox = storage / OUTBOX_FOLDER
        self._lanes: dict[str, _Lane] = {}
        for channel in channels:
            if not CHANNEL_NAME.fullmatch(channel.name) or channel.name in self._lanes:
                raise ValueError(f"channel name {plain(channel.name)!r} is not valid or "
                                 "not unique")
            self._lanes[channel.name] = _Lane(channel, self.outbox / channel.name)
        self._listener = listener
        self._clock = clock
        self._rng = rng or random.Random()
        self._counts: dict[tuple[str, str], int] = {
            (name, outcome): 0 for name in self._lanes for outcome in OUTCOMES}
        self._counts_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._storing: set[asyncio.Task[None]] = set()
        self._executor = DaemonExecutor(len(self._lanes) + 1, "alerts-outbox")
        """The outbox's file work (one thread per channel at most, as each channel writes its
        folder one call at a time, and one to start): never asyncio's default executor, which
        the analysis shares."""

    @classmethod
    def from_settings(cls, channels: Mapping[str, ChannelSection], storage: Path, *,
                      listener: DeliveryListener | None = None,
                      limits: DeliveryLimits | None = None) -> Delivery:
        built = [build_channel(name, section, storage / OUTBOX_FOLDER / name)
                 for name, section in channels.items()]
        return cls(built, storage, listener=listener, limits=limits)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(self._lanes)

    def counts(self) -> dict[tuple[str, str], int]:
        """Attempts and drops so far, per (channel, outcome); safe from any thread."""
        with self._counts_lock:
            return dict(self._counts)

    def pending(self, channel: str) -> int:
        """Notifications of `channel` not yet acknowledged nor given up."""
        return len(self._lanes[channel].entries)

    async def start(self) -> None:
        """Read what the outbox holds from an earlier run, then start one worker per channel."""
        self._loop = asyncio.get_running_loop()
        await self._in_thread(_import_http_backends)
        for lane in self._lanes.values():
            restored = await self._in_thread(_read_outbox, lane.folder)
            known = {e.notification.id for e in restored}
            submitted = [e for e in lane.entries if e.notification.id not in known]
            lane.entries = deque([*restored, *submitted])
            lane.ids = {e.notification.id for e in lane.entries}
            lane.unstored = submitted
            lane.bytes = sum(len(e.payload) for e in lane.entries)
            if restored:
                log.info("alerts: %d notification(s) for channel %s left from an earlier run",
                         len(restored), lane.channel.name)
            self._enforce_bounds(lane)
            lane.wake = asyncio.Event()
            lane.store_lock = asyncio.Lock()
            lane.last_contact = self._clock()
            lane.task = asyncio.create_task(self._work(lane), name=f"alerts-{lane.channel.name}")

    async def close(self) -> None:
        """Stop the workers; whatever is not acknowledged stays in (or is written to) the
        outbox for the next run."""
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._storing, return_exceptions=True)
        for lane in self._lanes.values():
            lane.task = None
            if lane.storing is not None:
                await asyncio.gather(lane.storing, return_exceptions=True)
            try:
                await self._in_thread(_store, lane, list(lane.entries),
                                      list(lane.discarded))
            except OSError as exc:
                log.error("alerts: outbox %s: %s; %d notification(s) of channel %s lost",
                          lane.folder, exc.strerror or exc, len(lane.entries),
                          lane.channel.name)
            lane.discarded = []
        self._loop = None

    def submit(self, notification: Notification) -> None:
        """Queue `notification` for its channel and return at once; from any thread."""
        loop = self._loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(self._submit, notification)
        else:
            self._submit(notification)

    def send_now(self, notification: Notification) -> DeliveryRecord:
        """One attempt, waited for (at most the channel's timeout), outside any queue and the
        outbox: what `neural-tui alerts test CHANNEL` reports. Runs in a thread of its own, so
        it works whether or not the caller's thread runs an event loop."""
        lane = self._lanes.get(notification.channel)
        if lane is None:
            return DeliveryRecord(notification.channel, "failed", self._clock(), 0,
                                  "no such channel")
        notification = utf8_safe(notification)
        result: list[DeliveryRecord] = []

        async def attempt() -> None:
            try:
                client = _client_for(lane.channel)
            except ChannelError as exc:
                outcome: DeliveryOutcome = "failed"
                detail = exc.detail
            else:
                async with client:
                    outcome, detail, _ = await _attempt(lane.channel, notification, client)
            result.append(DeliveryRecord(lane.channel.name, outcome, self._clock(), 1, detail))

        thread = threading.Thread(target=asyncio.run, args=(attempt(),), daemon=True)
        thread.start()
        thread.join()
        record = result[0]
        self._count(record.channel, record.outcome)
        return record

    async def _in_thread(self, call: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.wrap_future(self._executor.submit(call, *args))

    def _submit(self, notification: Notification) -> None:
        lane = self._lanes.get(notification.channel)
        if lane is None:
            log.error("alerts: notification for unknown channel %s dropped",
                      plain(notification.channel))
            return
        if notification.id in lane.ids:
            return
        try:
            payload = orjson.dumps(notification_to_json(notification))
        except TypeError:
            notification = utf8_safe(notification)
            payload = orjson.dumps(notification_to_json(notification))
        entry = _Entry(notification, payload, entry_name())
        lane.entries.append(entry)
        lane.ids.add(notification.id)
        lane.unstored.append(entry)
        lane.bytes += len(payload)
        self._enforce_bounds(lane)
        if lane.wake is not None and self._loop is not None:
            lane.wake.set()
            if not lane.store_scheduled:
                lane.store_scheduled = True
                storing = self._loop.create_task(self._sync_outbox(lane))
                self._storing.add(storing)
                storing.add_done_callback(self._storing.discard)

    def _enforce_bounds(self, lane: _Lane) -> None:
        """Drop the oldest entries not being attempted until both bounds hold again (a
        notification larger than the byte bound on its own is dropped too)."""
        limits = self.limits
        while len(lane.entries) > limits.max_pending or lane.bytes > limits.max_pending_bytes:
            victim = next((e for e in lane.entries if e is not lane.in_flight), None)
            if victim is None:
                return
            self._remove(lane, victim)
            self._report(lane, victim, "dropped",
                         f"queue full ({limits.max_pending} notifications or "
                         f"{limits.max_pending_bytes} bytes): the oldest is dropped")

    async def _work(self, lane: _Lane) -> None:
        try:
            client = await self._in_thread(_client_for, lane.channel)
        except ChannelError as exc:
            log.error("alerts: channel %s cannot deliver: %s; its notifications wait in %s",
                      lane.channel.name, exc.detail, lane.folder)
            await self._sync_outbox(lane)
            return
        async with client:
            await self._serve(lane, client)

    async def _serve(self, lane: _Lane, client: httpx.AsyncClient) -> None:
        assert lane.wake is not None
        while True:
            lane.wake.clear()
            await self._sync_outbox(lane)
            now = self._clock()
            head = lane.entries[0] if lane.entries else None
            if head is None:
                await self._idle(lane, client, now)
                continue
            if head.not_before > now:
                await _wait(lane.wake, head.not_before - now)
                continue
            if head.first_attempt is None:
                head.first_attempt = now
            lane.in_flight = head
            outcome, detail, retry_after = await _attempt(lane.channel, head.notification, client)
            lane.in_flight = None
            head.attempts += 1
            now = self._clock()
            if outcome == "sent":
                lane.last_contact = now
            elif outcome == "retrying":
                if now - head.first_attempt >= self.limits.give_up_after:
                    outcome, detail = "failed", f"{detail}; gave up after {head.attempts} attempts"
                else:
                    delay = self._delay(head.attempts, retry_after)
                    head.not_before = now + delay
                    detail = f"{detail}; next attempt in {delay:.0f} s"
            if outcome != "retrying":
                self._remove(lane, head)
            self._report(lane, head, outcome, detail)

    async def _idle(self, lane: _Lane, client: httpx.AsyncClient, now: float) -> None:
        """Wait for work; a channel that re-sends live state does so when it is due."""
        assert lane.wake is not None
        interval = lane.channel.refresh_interval
        if interval is None:
            await lane.wake.wait()
            return
        due = lane.last_contact + interval
        if now < due:
            await _wait(lane.wake, due - now)
            return
        lane.last_contact = now
        try:
            async with asyncio.timeout(lane.channel.timeout_seconds):
                await lane.channel.refresh(client)
        except (ChannelError, TimeoutError) as exc:
            log.warning("alerts: channel %s: re-sending firing alerts failed: %s",
                        lane.channel.name, getattr(exc, "detail", "timed out"))
        except Exception as exc:
            log.error("alerts: channel %s: re-sending firing alerts failed unexpectedly: %s",
                      lane.channel.name, type(exc).__name__)

    async def _sync_outbox(self, lane: _Lane) -> None:
        """Write new entries to the outbox and remove the files of finished ones; called by
        `submit` at once (so an entry is on disk even while an attempt of another is under
        way) and by the worker, one at a time per channel. The thread's work is shielded from
        cancellation and awaited by `close`; a failed write is logged and tried again later."""
        assert lane.store_lock is not None
        async with lane.store_lock:
            lane.store_scheduled = False
            unstored = [e for e in lane.unstored if not e.removed]
            lane.unstored = []
            discarded = list(lane.discarded)
            if not unstored and not discarded:
                return
            lane.storing = asyncio.ensure_future(self._in_thread(_store, lane, unstored, discarded))
            try:
                await asyncio.shield(lane.storing)
            except OSError as exc:
                log.warning("alerts: outbox %s: %s", lane.folder, exc.strerror or exc)
                lane.unstored[:0] = [e for e in unstored if not e.stored]
                return
            done = {id(e) for e in discarded}
            lane.discarded = [e for e in lane.discarded if id(e) not in done]

    def _remove(self, lane: _Lane, entry: _Entry) -> None:
        lane.entries.remove(entry)
        lane.ids.discard(entry.notification.id)
        entry.removed = True
        lane.bytes -= len(entry.payload)
        lane.discarded.append(entry)

    def _delay(self, attempts: int, retry_after: float | None) -> float:
        """The receiver's `Retry-After` when given (bounded), else exponential backoff with
        jitter: a random time between half and all of `initial * 2^(attempts-1)`, capped."""
        limits = self.limits
        if retry_after is not None:
            return min(max(retry_after, 0.0), limits.max_retry_after)
        ceiling = min(limits.backoff_max, limits.backoff_initial * 2.0 ** min(attempts - 1, 60))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _report(self, lane: _Lane, entry: _Entry, outcome: DeliveryOutcome, detail: str) -> None:
        self._count(lane.channel.name, outcome)
        if outcome in ("failed", "dropped"):
            log.warning("alerts: channel %s: notification %s %s: %s", lane.channel.name,
                        plain(entry.notification.id), outcome, detail)
        if self._listener is None:
            return
        record = DeliveryRecord(lane.channel.name, outcome, self._clock(), entry.attempts,
                                detail)
        try:
            self._listener(entry.notification, record)
        except Exception:
            log.exception("alerts: the delivery listener failed")

    def _count(self, channel: str, outcome: str) -> None:
        with self._counts_lock:
            self._counts[(channel, outcome)] = self._counts.get((channel, outcome), 0) + 1


async def _attempt(channel: Channel, notification: Notification,
                   client: httpx.AsyncClient) -> tuple[DeliveryOutcome, str, float | None]:
    """One attempt under the channel's timeout: (outcome, detail, the wait asked for)."""
    try:
        async with asyncio.timeout(channel.timeout_seconds + channel.attempt_grace):
            await channel.send(notification, client)
    except ChannelError as exc:
        return ("retrying" if exc.retryable else "failed"), exc.detail, exc.retry_after
    except TimeoutError:
        return "retrying", f"no answer within {channel.timeout_seconds:g} s", None
    except Exception as exc:
        # The type only: a message or traceback may quote the URL or a header (a secret).
        log.error("alerts: channel %s failed unexpectedly: %s", channel.name, type(exc).__name__)
        return "failed", f"internal error: {type(exc).__name__}", None
    return "sent", "", None


def _import_http_backends() -> None:
    """Import what httpx otherwise imports on its first request, on the event loop (a tenth
    of a second): run in a thread at start, so the first alert holds nothing up."""
    for module in HTTP_BACKENDS:
        importlib.import_module(module)


def _client_for(channel: Channel) -> httpx.AsyncClient:
    """An HTTP client of the channel's own (its connections, its trusted certificates);
    redirects are not followed: a webhook that moved is a configuration to fix."""
    verify: ssl.SSLContext | bool = True
    if channel.ca_file is not None:
        try:
            verify = ssl.create_default_context(cafile=channel.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ChannelError(f"cannot read ca_file {channel.ca_file}: {exc}",
                               retryable=False) from None
    return httpx.AsyncClient(follow_redirects=False, verify=verify)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=max(seconds, 0.0))


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _store(lane: _Lane, unstored: list[_Entry], discarded: Iterable[_Entry] = ()) -> None:
    """In a thread: write each unstored entry atomically, remove the files of finished ones."""
    if unstored:
        lane.folder.mkdir(parents=True, exist_ok=True)
    for entry in unstored:
        if entry.stored:
            continue
        target = lane.folder / f"{entry.name}.json"
        temporary = target.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            handle.write(entry.payload)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
        entry.stored = True
    for entry in discarded:
        if entry.stored:
            (lane.folder / f"{entry.name}.json").unlink(missing_ok=True)


def entry_name() -> str:
    """A new outbox entry's name: unique across processes, sorting in submission order."""
    return f"{time.time_ns():020d}-{next(_entry_numbers) % 10**9:09d}-{_PROCESS_TOKEN}"


def _read_outbox(folder: Path) -> list[_Entry]:
    """In a thread: the entries an earlier run left, oldest first; an unreadable file is
    renamed `*.bad` and named in the log, and costs only itself; a half-written one left long
    ago is removed."""
    if not folder.is_dir():
        return []
    entries = []
    for path in sorted(folder.iterdir()):
        if _PARTIAL_NAME.fullmatch(path.name):
            with contextlib.suppress(OSError):
                if time.time() - path.stat().st_mtime > PARTIAL_SECONDS:
                    path.unlink()
            continue
        match = _ENTRY_NAME.fullmatch(path.name)
        if match is None:
            continue
        try:
            payload = path.read_bytes()
            notification = notification_from_json(orjson.loads(payload))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("alerts: %s: unreadable outbox entry set aside (%s)", path,
                        type(exc).__name__)
            with contextlib.suppress(OSError):
                path.replace(path.with_suffix(".bad"))
            continue
        entries.append(_Entry(notification, payload, match.group(1), stored=True))
    return entries


def utf8_safe(notification: Notification) -> Notification:
    """`notification` with every string encodable as UTF-8: a lone surrogate (a string from
    a log may hold one) becomes '?', where JSON, SMTP and HTTP would all refuse it."""

    def text(value: str) -> str:
        return value.encode("utf-8", "replace").decode("utf-8")

    def table(mapping: Mapping[str, str]) -> dict[str, str]:
        return {text(k): text(v) for k, v in mapping.items()}

    alerts = tuple(replace(a, labels=table(a.labels), annotations=table(a.annotations),
                           values={text(k): v for k, v in a.values.items()})
                   for a in notification.alerts)
    return replace(notification, id=text(notification.id), group_key=text(notification.group_key),
                   group_labels=table(notification.group_labels), alerts=alerts)


def notification_to_json(notification: Notification) -> dict[str, Any]:
    """A notification as plain JSON data (the outbox's format)."""
    return {
        "id": notification.id,
        "channel": notification.channel,
        "group_key": notification.group_key,
        "group_labels": dict(notification.group_labels),
        "created_at": notification.created_at,
        "alerts": [
            {"labels": dict(a.labels), "annotations": dict(a.annotations), "status": a.status,
             "starts_at": a.starts_at, "ends_at": a.ends_at,
             "values": {k: v if math.isfinite(v) else None for k, v in a.values.items()}}
            for a in notification.alerts
        ],
    }


def notification_from_json(data: dict[str, Any]) -> Notification:
    """The inverse of `notification_to_json`; KeyError, TypeError or ValueError if malformed."""
    alerts = tuple(
        Alert(labels=_strings(a["labels"]), annotations=_strings(a["annotations"]),
              status=_status(a["status"]), starts_at=float(a["starts_at"]),
              ends_at=None if a["ends_at"] is None else float(a["ends_at"]),
              values={str(k): math.nan if v is None else float(v)
                      for k, v in a["values"].items()})
        for a in data["alerts"]
    )
    return Notification(id=str(data["id"]), channel=str(data["channel"]),
                        group_key=str(data["group_key"]),
                        group_labels=_strings(data["group_labels"]), alerts=alerts,
                        created_at=float(data["created_at"]))


def _strings(value: dict[str, Any]) -> dict[str, str]:
    if not isinstance(value, dict):
        raise TypeError("not a table")
    return {str(k): str(v) for k, v in value.items()}


def _status(value: Any) -> Any:
    if value not in ("firing", "resolved"):
        raise ValueError("unknown status")
    return value
