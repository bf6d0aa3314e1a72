"""The channels: each turns one `Notification` into one delivery attempt, or says why not.

A channel knows only its receiver's format and protocol; retries, timeouts, queues and the
outbox belong to `neural_tui.alerts.delivery`. A failed attempt raises `ChannelError`, whose
`retryable` says whether trying again may help and whose message never holds a secret (a
webhook URL, a password, a header value): it is logged, counted and shown in the console.
"""

from __future__ import annotations

from pathlib import Path

from neural_tui.alerts.channels.alertmanager import AlertmanagerChannel
from neural_tui.alerts.channels.base import Channel, ChannelError
from neural_tui.alerts.channels.email import EmailChannel
from neural_tui.alerts.channels.file import FileChannel
from neural_tui.alerts.channels.slack import SlackChannel
from neural_tui.alerts.channels.webhook import WebhookChannel
from neural_tui.config import ChannelSection

__all__ = ["Channel", "ChannelError", "build_channel"]


def build_channel(name: str, section: ChannelSection, state_dir: Path) -> Channel:
    """The channel `section` describes; `state_dir` holds what a channel keeps across restarts
    (the Alertmanager channel: the alerts it must keep re-sending)."""
    if section.type == "slack":
        return SlackChannel(name, section)
    if section.type == "email":
        return EmailChannel(name, section)
    if section.type == "webhook":
        return WebhookChannel(name, section)
    if section.type == "file":
        return FileChannel(name, section)
    return AlertmanagerChannel(name, section, state_dir)
