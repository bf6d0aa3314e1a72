"""One HTTP POST, its answer classified the way Alertmanager's own notifiers classify it.

2xx is acknowledged; 429, 408 and 5xx are worth retrying (with the receiver's `Retry-After`
when it gives one); any other status (4xx, or a redirect, which is not followed) is a rejection
that trying again will not change. Errors name the status and a short, plain excerpt of the
answer, never the URL (it may hold a token) nor a header value.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from neural_tui.alerts.channels.base import ChannelError
from neural_tui.safe_text import plain

EXCERPT_CHARS = 200
"""How much of an error answer's body is kept in the detail."""
RETRYABLE_STATUSES = frozenset({408, 429})

for _chatty in ("httpx", "httpcore"):
    # httpx logs every request's full URL at INFO: a Slack or webhook URL is a credential.
    logging.getLogger(_chatty).setLevel(logging.WARNING)


async def post_json(client: httpx.AsyncClient, url: str, body: Any, *,
                    headers: Mapping[str, str] | None = None, timeout: float) -> httpx.Response:
    """POST `body` as JSON; the response if 2xx, else `ChannelError`."""
    content = orjson.dumps(body)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = await client.post(url, content=content, headers=all_headers, timeout=timeout)
    except httpx.TimeoutException:
        raise ChannelError(f"no answer within {timeout:g} s", retryable=True) from None
    except httpx.HTTPError as exc:
        raise ChannelError(f"cannot connect: {type(exc).__name__}", retryable=True) from None
    if 200 <= response.status_code < 300:
        return response
    status = response.status_code
    detail = f"HTTP {status}"
    excerpt = plain(response.text[:EXCERPT_CHARS]).strip()
    if excerpt:
        detail += f": {excerpt}"
    if status in RETRYABLE_STATUSES or status >= 500:
        wait = parse_retry_after(response.headers.get("Retry-After"), time.time())
        raise ChannelError(detail, retryable=True, retry_after=wait)
    raise ChannelError(detail, retryable=False)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header (delay-seconds or an HTTP-date, RFC 9110);
    None when absent or unreadable; a date in the past is 0. The delivery bounds it."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text[:12])
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        return None
    wait = moment.timestamp() - now
    return max(0.0, wait) if math.isfinite(wait) else None
