"""The webhook channel: the notification POSTed as JSON in Alertmanager's webhook format, so
any receiver written for Alertmanager (version 4 payloads) understands it."""

from __future__ import annotations

import httpx

from neural_tui.alerts.channels.base import Channel
from neural_tui.alerts.channels.http import post_json
from neural_tui.alerts.channels.render import webhook_body
from neural_tui.alerts.notification import Notification
from neural_tui.config import ChannelSection


class WebhookChannel(Channel):
    def __init__(self, name: str, section: ChannelSection) -> None:
        super().__init__(name, section.timeout_seconds, section.ca_file)
        assert section.url is not None, "checked at load"
        self._url = section.url
        self._headers = section.headers

    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        headers = {name: value.reveal() for name, value in self._headers.items()}
        await post_json(client, self._url.reveal(), webhook_body(notification, self.name),
                        headers=headers, timeout=self.timeout_seconds)
