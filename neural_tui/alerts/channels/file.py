"""The file channel: one JSON line per notification, appended whole.

The line is the Alertmanager webhook body plus the notification's `id` and `createdAt` and each
alert's `values`, so a reader can de-duplicate by id and see the figures. Each line goes out in
one `write` on a file opened for appending, then `fsync`, in a thread: lines from two writers
never interleave and an acknowledged line is on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import orjson

from neural_tui.alerts.channels.base import Channel, ChannelError
from neural_tui.alerts.channels.render import rfc3339, webhook_body
from neural_tui.alerts.notification import Notification
from neural_tui.config import ChannelSection


class FileChannel(Channel):
    def __init__(self, name: str, section: ChannelSection) -> None:
        super().__init__(name, section.timeout_seconds)
        assert section.path is not None, "checked at load"
        self.path: Path = section.path

    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        line = orjson.dumps(notification_line(notification, self.name),
                            option=orjson.OPT_APPEND_NEWLINE)
        try:
            await self.in_thread(append_line, self.path, line)
        except OSError as exc:
            raise ChannelError(f"cannot append to the file: {exc.strerror or exc}",
                               retryable=True) from None


def notification_line(notification: Notification, receiver: str) -> dict[str, object]:
    body = webhook_body(notification, receiver)
    for alert, listed in zip(notification.alerts, body["alerts"], strict=True):
        listed["values"] = dict(alert.values)
    return {"id": notification.id, "createdAt": rfc3339(notification.created_at), **body}


def append_line(path: Path, line: bytes) -> None:
    """Append `line` in one write (repeated only if the kernel took part of it) and sync."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(descriptor, view):]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
