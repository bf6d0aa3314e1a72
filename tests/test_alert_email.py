"""The e-mail channel against a real SMTP server (aiosmtpd on 127.0.0.1): the message arrives,
over STARTTLS with a login where configured, as text and HTML; SMTP's refusals are not retried,
its temporary failures are."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from alert_receivers import alert, eventually, make_certificate, notification
from realservers import free_port

from neural_tui.alerts.delivery import Delivery
from neural_tui.config import ChannelSection, Secret


@dataclass
class Mailbox:
    """An aiosmtpd handler: keeps each message; refuses recipients listed in `refuse`."""

    messages: list[tuple[str, list[str], email.message.EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made by `openssl req`) and its key."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == b"alerts" and auth_data.password == b"pw"
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp_server(certificate) -> Iterator[callable]:
    """Start aiosmtpd on a free port: `tls=True` offers STARTTLS (required) and a login."""
    started: list[Controller] = []

    def start(mailbox: Mailbox, tls: bool) -> int:
        port = free_port()
        options: dict = {}
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*certificate)
            options = {"tls_context": context, "require_starttls": True,
                       "authenticator": authenticate}
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        started.append(controller)
        return port

    yield start
    for controller in started:
        controller.stop()


def channel(port: int, *, starttls: bool, ca_file: Path | None = None, login: bool = False,
            to: tuple[str, ...] = ("oncall@example.org",), timeout: float = 5.0) -> ChannelSection:
    return ChannelSection(
        type="email", host="127.0.0.1", port=port, starttls=starttls, ca_file=ca_file,
        username="alerts" if login else None, password=Secret("pw") if login else None,
        from_="neural-tui@example.org", to=to, timeout_seconds=timeout)


def test_the_message_arrives_over_starttls_after_a_login_as_text_and_html(
        tmp_path, smtp_server, certificate):
    mailbox = Mailbox()
    port = smtp_server(mailbox, tls=True)
    section = channel(port, starttls=True, ca_file=certificate[0], login=True,
                      to=("oncall@example.org", "lead@example.org"))
    delivery = Delivery.from_settings({"mail": section}, tmp_path)

    record = delivery.send_now(notification("mail", 1, alert(), alert(model="churn")))

    assert (record.outcome, record.detail) == ("sent", "")
    (sender, recipients, message), = mailbox.messages
    assert sender == "neural-tui@example.org"
    assert recipients == ["oncall@example.org", "lead@example.org"]
    assert message["Subject"] == "[FIRING:2] drift"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert "FIRING: drift above 0.2" in text
    assert "model: churn" in text and "model: fraud" in text
    assert "drift_score=0.31" in text
    assert "<th align=\"left\">model</th><td>churn</td>" in page


def test_without_starttls_the_message_arrives_in_plain(tmp_path, smtp_server):
    mailbox = Mailbox()
    port = smtp_server(mailbox, tls=False)
    delivery = Delivery.from_settings({"mail": channel(port, starttls=False)}, tmp_path)

    record = delivery.send_now(notification("mail", 1))

    assert record.outcome == "sent"
    assert len(mailbox.messages) == 1


async def test_a_submitted_notification_is_mailed_through_the_queue(
        tmp_path, smtp_server, certificate):
    mailbox = Mailbox()
    port = smtp_server(mailbox, tls=True)
    section = channel(port, starttls=True, ca_file=certificate[0], login=True)
    delivery = Delivery.from_settings({"mail": section}, tmp_path)
    await delivery.start()
    delivery.submit(notification("mail", 1))
    await eventually(lambda: delivery.counts()[("mail", "sent")] == 1, what="acknowledged")
    await delivery.close()

    assert len(mailbox.messages) == 1


def test_a_server_without_starttls_is_refused_when_starttls_is_required(tmp_path, smtp_server):
    mailbox = Mailbox()
    port = smtp_server(mailbox, tls=False)
    delivery = Delivery.from_settings({"mail": channel(port, starttls=True)}, tmp_path)

    record = delivery.send_now(notification("mail", 1))

    assert (record.outcome, record.detail) == ("failed", "the server does not offer STARTTLS")
    assert mailbox.messages == []


def test_a_certificate_not_trusted_is_a_rejection(tmp_path, smtp_server):
    port = smtp_server(Mailbox(), tls=True)
    delivery = Delivery.from_settings({"mail": channel(port, starttls=True, login=True)},
                                      tmp_path)

    record = delivery.send_now(notification("mail", 1))

    assert record.outcome == "failed"
    assert record.detail.startswith("TLS: certificate not trusted")


def test_a_wrong_password_is_a_rejection_and_is_never_shown(tmp_path, smtp_server, certificate):
    port = smtp_server(Mailbox(), tls=True)
    section = channel(port, starttls=True, ca_file=certificate[0], login=True)
    section = ChannelSection(**{**{f: getattr(section, f) for f in section.__slots__},
                                "password": Secret("wrong-pw-123")})
    delivery = Delivery.from_settings({"mail": section}, tmp_path)

    record = delivery.send_now(notification("mail", 1))

    assert (record.outcome, record.detail) == (
        "failed", "SMTP 535: 5.7.8 Authentication credentials invalid")
    assert "wrong-pw-123" not in repr(record) + repr(section)


@pytest.mark.parametrize(("reply", "outcome"), [("550 no such user", "failed"),
                                                ("450 mailbox busy", "retrying")])
def test_a_refused_recipient_is_retried_only_when_the_refusal_is_temporary(
        tmp_path, smtp_server, reply, outcome):
    mailbox = Mailbox(refuse={"oncall@example.org": reply})
    port = smtp_server(mailbox, tls=False)
    delivery = Delivery.from_settings({"mail": channel(port, starttls=False)}, tmp_path)

    record = delivery.send_now(notification("mail", 1))

    assert (record.outcome, record.detail) == (outcome, f"recipients refused (SMTP {reply[:3]})")


def test_a_label_with_a_line_break_adds_no_header_and_markup_stays_text(tmp_path, smtp_server):
    mailbox = Mailbox()
    port = smtp_server(mailbox, tls=False)
    delivery = Delivery.from_settings({"mail": channel(port, starttls=False)}, tmp_path)
    hostile = alert(name="drift\r\nBcc: victim@example.org", model="<script>x</script>")

    record = delivery.send_now(notification("mail", 1, hostile))

    assert record.outcome == "sent"
    (_, recipients, message), = mailbox.messages
    assert recipients == ["oncall@example.org"]
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"]
    page = message.get_body(("html",)).get_content()
    assert "<script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_a_server_that_never_answers_is_a_timeout_worth_retrying(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    delivery = Delivery.from_settings(
        {"mail": channel(port, starttls=True, timeout=0.5)}, tmp_path)

    record = delivery.send_now(notification("mail", 1))
    listener.close()
    for connection in accepted:
        connection.close()

    assert record.outcome == "retrying"
    assert record.detail in {"no answer within 0.5 s", "SMTP connection failed: TimeoutError"}
