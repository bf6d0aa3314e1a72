"""The e-mail channel: a multipart message (plain text and HTML) over SMTP, with STARTTLS by
default, sent by the standard library's `smtplib` in a thread.

Every socket operation has the channel's timeout, so a silent server holds that thread no
longer than it. SMTP's own codes decide retrying: a 4xx reply or a lost connection is tried
again, a 5xx reply (recipient refused, authentication failed), a server without STARTTLS when
it is required, or a certificate not trusted is a rejection. Label values may come from a log:
they are made plain for the headers (no line break can add a header) and escaped in the HTML.
"""

from __future__ import annotations

import html
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import httpx

from neural_tui.alerts.channels.base import Channel, ChannelError
from neural_tui.alerts.channels.render import rfc3339, summary, title, value_text
from neural_tui.alerts.notification import Alert, Notification
from neural_tui.config import ChannelSection, Secret
from neural_tui.safe_text import plain

STARTTLS_PORT = 587
PLAIN_PORT = 25
EXCERPT_CHARS = 200
MESSAGE_ID_DOMAIN = "neural-tui.invalid"


class EmailChannel(Channel):
    attempt_grace = 2.0
    def __init__(self, name: str, section: ChannelSection) -> None:
        super().__init__(name, section.timeout_seconds, section.ca_file)
        assert section.host is not None and section.from_ is not None, "checked at load"
        self.host = section.host
        self.port = section.port or (STARTTLS_PORT if section.starttls else PLAIN_PORT)
        self.starttls = section.starttls
        self.sender = section.from_
        self.recipients = section.to
        self._username = section.username
        self._password: Secret | None = section.password

    async def send(self, notification: Notification, client: httpx.AsyncClient) -> None:
        message = email_message(notification, self.sender, self.recipients)
        await self.in_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        """The SMTP session, within `timeout_seconds` in all: each step gets what is left, so
        the thread ends and says how it went before the delivery stops waiting for it."""
        deadline = time.monotonic() + self.timeout_seconds

        def left(smtp: smtplib.SMTP | None = None) -> float:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if smtp is not None and smtp.sock is not None:
                smtp.sock.settimeout(remaining)
            return remaining

        try:
            with smtplib.SMTP(self.host, self.port, timeout=left()) as smtp:
                left(smtp)
                smtp.ehlo()
                if self.starttls:
                    context = ssl.create_default_context(cafile=self.ca_file)
                    left(smtp)
                    smtp.starttls(context=context)
                    left(smtp)
                    smtp.ehlo()
                if self._username is not None and self._password is not None:
                    left(smtp)
                    smtp.login(self._username, self._password.reveal())
                left(smtp)
                smtp.send_message(message)
        except TimeoutError:
            raise ChannelError(f"no answer within {self.timeout_seconds:g} s",
                               retryable=True) from None
        except smtplib.SMTPNotSupportedError:
            raise ChannelError("the server does not offer STARTTLS", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _ in exc.recipients.values()})
            raise ChannelError(f"recipients refused (SMTP {', '.join(map(str, codes))})",
                               retryable=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(
                exc.smtp_error, bytes) else str(exc.smtp_error)
            detail = f"SMTP {exc.smtp_code}: {plain(reply[:EXCERPT_CHARS])}"
            raise ChannelError(detail, retryable=400 <= exc.smtp_code < 500) from None
        except ssl.SSLCertVerificationError as exc:
            raise ChannelError(f"TLS: certificate not trusted ({exc.verify_message})",
                               retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            if time.monotonic() >= deadline:
                raise ChannelError(f"no answer within {self.timeout_seconds:g} s",
                                   retryable=True) from None
            raise ChannelError(f"SMTP connection failed: {type(exc).__name__}",
                               retryable=True) from None


def email_message(notification: Notification, sender: str,
                  recipients: tuple[str, ...]) -> EmailMessage:
    """The message: the title as subject, one paragraph per alert, text and HTML."""
    message = EmailMessage()
    message["Subject"] = title(notification)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=MESSAGE_ID_DOMAIN)
    text = "\n\n".join([title(notification), *(_text(a) for a in notification.alerts)])
    message.set_content(text + "\n")
    paragraphs = "".join(_html(a) for a in notification.alerts)
    message.add_alternative(
        f"<html><body><h2>{html.escape(title(notification))}</h2>{paragraphs}</body></html>\n",
        subtype="html")
    return message


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [(plain(k), plain(v)) for k, v in sorted(alert.labels.items())]
    if alert.values:
        facts.append(("values", value_text(alert.values)))
    facts.append(("since", rfc3339(alert.starts_at)))
    if alert.ends_at is not None:
        facts.append(("ended", rfc3339(alert.ends_at)))
    return facts


def _text(alert: Alert) -> str:
    lines = [f"{alert.status.upper()}: {summary(alert)}"]
    lines += [f"  {key}: {value}" for key, value in _facts(alert)]
    return "\n".join(lines)


def _html(alert: Alert) -> str:
    rows = "".join(f"<tr><th align=\"left\">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                   for k, v in _facts(alert))
    return (f"<h3>{html.escape(alert.status.upper())}: {html.escape(summary(alert))}</h3>"
            f"<table>{rows}</table>")
