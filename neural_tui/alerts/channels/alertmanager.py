"""The Alertmanager channel: alerts POSTed to a running Alertmanager's `/api/v2/alerts`.

Alertmanager expects of a client what Prometheus does: every firing alert is re-sent while it
fires, with an `endsAt` a little in the future, and a resolved one is sent with its `endsAt`.
An alert not heard of again by its `endsAt` is resolved by Alertmanager itself, so a monitor
that stopped does not leave a page firing forever. This channel keeps the alerts still firing
(in `firing.json` under its state folder, so a restart keeps re-sending them) and re-posts
them every `REFRESH_SECONDS` and with each notification, with `endsAt` `ENDS_AFTER_SECONDS`
ahead: four refreshes, as Prometheus does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from neural_tui.alerts.channels.base import Channel
from neural_tui.alerts.channels.http import post_json
from neural_tui.alerts.channels.render import rfc3339
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.config import ChannelSection

log = logging.getLogger(__name__)

REFRESH_SECONDS = 60.0
ENDS_AFTER_SECONDS = 4 * REFRESH_SECONDS
API_PATH = "/api/v2/alerts"
MAX_FIRING = 10_000
"""Most firing alerts kept for re-sending; beyond it the oldest are forgotten (and expire in
Alertmanager after `ENDS_AFTER_SECONDS`)."""


class AlertmanagerChannel(Channel):
    refresh_interval = REFRESH_SECONDS

    def __init__(self, name: str, section: ChannelSection, state_dir: Path) -> None:
        super().__init__(name, section.timeout_seconds, section.ca_file)
        assert section.url is not None, "checked at load"
        self._url = section.url
        self._headers = section.headers
        self._state_path = state_dir / "firing.json"
        self._firing: dict[str, dict[str, Any]] | None = None

    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        firing = await self._load()
        now = time.time()
        posted = {a.fingerprint: _postable(a, now) for a in notification.alerts}
        after = dict(firing)
        for alert in notification.alerts:
            if alert.status == "firing":
                after[alert.fingerprint] = posted[alert.fingerprint]
            else:
                after.pop(alert.fingerprint, None)
        others = [_extended(body, now) for key, body in after.items() if key not in posted]
        await self._post([*posted.values(), *others], client)
        self._firing = dict(list(after.items())[-MAX_FIRING:])
        await self.in_thread(_save, self._state_path, self._firing)

    async def refresh(self, client: httpx.AsyncClient) -> None:
        firing = await self._load()
        if firing:
            now = time.time()
            await self._post([_extended(body, now) for body in firing.values()], client)

    async def _post(self, alerts: list[dict[str, Any]], client: httpx.AsyncClient) -> None:
        headers = {name: value.reveal() for name, value in self._headers.items()}
        url = self._url.reveal().rstrip("/") + API_PATH
        await post_json(client, url, alerts, headers=headers, timeout=self.timeout_seconds)

    async def _load(self) -> dict[str, dict[str, Any]]:
        if self._firing is None:
            self._firing = await self.in_thread(_read, self._state_path)
        return self._firing


def _postable(alert: Alert, now: float) -> dict[str, Any]:
    """An alert as `/api/v2/alerts` takes it (`postableAlert`)."""
    if alert.status == "firing":
        ends = now + ENDS_AFTER_SECONDS
    else:
        ends = alert.ends_at if alert.ends_at is not None else now
    ends = max(ends, alert.starts_at)
    return {"labels": dict(alert.labels), "annotations": dict(alert.annotations),
            "startsAt": rfc3339(alert.starts_at), "endsAt": rfc3339(ends),
            "generatorURL": ""}


def _extended(body: dict[str, Any], now: float) -> dict[str, Any]:
    return {**body, "endsAt": rfc3339(now + ENDS_AFTER_SECONDS)}


def _read(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("alerts: %s unreadable (%s); firing alerts re-sent from the next "
                    "notification on", path, type(exc).__name__)
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(
        data, dict) else {}


def _save(path: Path, firing: dict[str, dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(firing))
    with contextlib.suppress(OSError), temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(path)
