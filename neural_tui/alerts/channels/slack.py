"""The Slack channel: a Block Kit message to an incoming webhook, with a plain-text fallback.

Slack's limits (Block Kit reference): 50 blocks a message, 3000 characters of section text, 150
of header text; messages whose blocks add up to much more than 12,000 characters are refused
(`msg_blocks_too_long`), and the top-level `text` (what notifications and screen readers show)
is cut by Slack at 40,000 but is kept short here. A notification with more alerts than fit is
sent as several messages, `(part i/n)`; a retry after a partial failure sends only the parts not
yet acknowledged. Label values may come from a log, so `&`, `<` and `>` are escaped: a model
named `<!channel>` is shown, never pings anyone.
"""

from __future__ import annotations

from typing import Any

import httpx

from neural_tui.alerts.channels.base import Channel
from neural_tui.alerts.channels.http import post_json
from neural_tui.alerts.channels.render import rfc3339, summary, title, value_text
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.config import ChannelSection
from neural_tui.safe_text import plain

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
MAX_MESSAGE_CHARS = 12_000
"""Characters of block text per message, under the size Slack refuses."""
MAX_TEXT_CHARS = 3000
"""Characters of the plain-text fallback per message."""
MAX_PROGRESS = 1000
"""Notifications whose acknowledged parts are remembered for a retry."""
ICONS = {"critical": ":red_circle:", "warning": ":large_orange_circle:",
         "info": ":large_blue_circle:"}
RESOLVED_ICON = ":white_check_mark:"


class SlackChannel(Channel):
    def __init__(self, name: str, section: ChannelSection) -> None:
        super().__init__(name, section.timeout_seconds, section.ca_file)
        assert section.webhook_url is not None, "checked at load"
        self._url = section.webhook_url
        self._parts_sent: dict[str, int] = {}

    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        messages = slack_messages(notification)
        done = self._parts_sent.get(notification.id, 0)
        for index in range(done, len(messages)):
            await post_json(client, self._url.reveal(), messages[index],
                            timeout=self.timeout_seconds)
            self._parts_sent[notification.id] = index + 1
            while len(self._parts_sent) > MAX_PROGRESS:
                del self._parts_sent[next(iter(self._parts_sent))]
        self._parts_sent.pop(notification.id, None)


def slack_messages(notification: Notification) -> list[dict[str, Any]]:
    """The Slack payloads of one notification: one, or several when it is too long for one."""
    sections = [(_section(alert), _fallback_line(alert)) for alert in notification.alerts]
    chunks: list[list[tuple[str, str]]] = [[]]
    size = 0
    for section, line in sections:
        chunk = chunks[-1]
        if chunk and (len(chunk) + 1 >= MAX_BLOCKS or size + len(section) > MAX_MESSAGE_CHARS):
            chunks.append([])
            size = 0
        chunks[-1].append((section, line))
        size += len(section)
    heading = title(notification)
    messages = []
    for number, chunk in enumerate(chunks, start=1):
        part = f" (part {number}/{len(chunks)})" if len(chunks) > 1 else ""
        header = _cut(heading, MAX_HEADER_CHARS - len(part)) + part
        text = "\n".join([header, *(line for _, line in chunk)])
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": header}}]
        blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": section}}
                   for section, _ in chunk]
        messages.append({"text": _cut(text, MAX_TEXT_CHARS), "blocks": blocks})
    return messages


def _section(alert: Alert) -> str:
    severity = alert.labels.get("severity", "")
    icon = RESOLVED_ICON if alert.status == "resolved" else ICONS.get(severity, ":bell:")
    name = _escape(alert.labels.get("alertname", "alert"))
    lines = [f"{icon} *{name}* {alert.status}"]
    facts = [f"{_escape(k)}: `{_escape(v)}`" for k, v in sorted(alert.labels.items())
             if k != "alertname"]
    if facts:
        lines.append(" · ".join(facts))
    lines.append(_escape(summary(alert)))
    if alert.values:
        lines.append(_escape(value_text(alert.values)))
    when = f"since {rfc3339(alert.starts_at)}"
    if alert.ends_at is not None:
        when += f", ended {rfc3339(alert.ends_at)}"
    lines.append(when)
    return _cut("\n".join(lines), MAX_SECTION_CHARS)


def _fallback_line(alert: Alert) -> str:
    model = alert.labels.get("model")
    where = f" ({plain(model)})" if model else ""
    return f"{alert.status}: {summary(alert)}{where}"


def _escape(text: str) -> str:
    """Slack's three control characters, escaped as its formatting reference asks."""
    return plain(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
