"""Sending email: one interface, an outbox backend (files) and an SMTP backend."""

from __future__ import annotations

import email.policy
import re
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def header_text(text: str) -> str:
    """One line for an email header: control characters (CR, LF...) become spaces."""
    return " ".join(_CONTROL.sub(" ", text).split())


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str] = field(default_factory=dict)
    # The display name of the sender (an organisation's); the address stays the server's own,
    # so SPF and DKIM keep matching.
    sender_name: str | None = None


class MailError(Exception):
    """A message could not be handed over; worth retrying."""


class Backend(Protocol):
    def send(self, message: Message) -> str:
        """Deliver ``message``; return its Message-ID."""


def build(message: Message, sender: str) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML)."""
    msg = EmailMessage()
    if message.sender_name:
        sender = formataddr((message.sender_name, parseaddr(sender)[1]))
    msg["From"] = sender
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in message.headers.items():
        msg[name] = value
    msg.set_content(message.text)
    msg.add_alternative(message.html, subtype="html")
    return msg


class OutboxBackend:
    """Writes each message as an .eml file: the default for a laptop, nothing leaves it."""

    def __init__(self, directory: str, sender: str) -> None:
        self.directory = Path(directory)
        self.sender = sender

    def send(self, message: Message) -> str:
        msg = build(message, self.sender)
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(path)  # readers never see half a message
        return msg["Message-ID"]

    def messages(self) -> list[tuple[str, EmailMessage]]:
        """Stored messages, newest first, as (file name, parsed message)."""
        if not self.directory.exists():
            return []
        parser = BytesParser(policy=email.policy.default)
        found = []
        for path in sorted(self.directory.glob("*.eml"), reverse=True):
            found.append((path.name, parser.parsebytes(path.read_bytes())))
        return found

    def message(self, name: str) -> EmailMessage | None:
        path = self.directory / Path(name).name  # never leave the outbox directory
        if path.suffix != ".eml" or not path.is_file():
            return None
        return BytesParser(policy=email.policy.default).parsebytes(path.read_bytes())


class SMTPBackend:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        use_ssl: bool = False,
        timeout: float = 20.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username, password
        self.use_tls, self.use_ssl, self.timeout = use_tls, use_ssl, timeout

    def send(self, message: Message) -> str:
        msg = build(message, self.sender)
        context = ssl.create_default_context()
        try:
            if self.use_ssl:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.use_tls and not self.use_ssl:
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"{type(error).__name__}: {error}") from error
        return msg["Message-ID"]


def backend_from_config(config: dict[str, Any]) -> OutboxBackend | SMTPBackend:
    sender = config["MAIL_DEFAULT_SENDER"]
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPBackend(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            sender,
            username=config.get("MAIL_USERNAME"),
            password=config.get("MAIL_PASSWORD"),
            use_tls=config.get("MAIL_USE_TLS", False),
            use_ssl=config.get("MAIL_USE_SSL", False),
        )
    if config["MAIL_BACKEND"] == "outbox":
        return OutboxBackend(config["MAIL_OUTBOX_DIR"], sender)
    raise ValueError(f"unknown MAIL_BACKEND {config['MAIL_BACKEND']!r} (outbox or smtp)")
