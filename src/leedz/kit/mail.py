"""Outgoing mail: SMTP (aiosmtplib) when LEEDZ_SMTP_HOST is set, else a console backend that
logs the message (development: the invite link appears in the server log).

`Outbox` sends off the request path (a task per message), for mail whose sending must not show
in the answer's timing: a password-reset request answers as fast for an unknown address as for
a known one, whose mail is still being handed to the SMTP server.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from leedz.config import Settings
from leedz.kit.background import Background

log = structlog.get_logger("leedz.mail")


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class ConsoleMailer:
    """Logs each message instead of sending it; `outbox` keeps the latest for inspection."""

    KEPT = 1000  # a server left without SMTP must not keep every message it ever logged

    def __init__(self) -> None:
        self.outbox: deque[EmailMessage] = deque(maxlen=self.KEPT)

    async def send(self, message: EmailMessage) -> None:
        self.outbox.append(message)
        body = message.get_body(preferencelist=("plain",))
        log.info(
            "mail_not_sent_console_backend",
            to=message["To"],
            subject=message["Subject"],
            text=body.get_content() if body is not None else None,
        )


class SmtpMailer:
    def __init__(self, settings: Settings) -> None:
        if settings.smtp_host is None:
            raise ValueError("SmtpMailer needs LEEDZ_SMTP_HOST")
        self.settings = settings

    async def send(self, message: EmailMessage) -> None:
        s = self.settings
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_starttls,
            timeout=15,
        )
        log.info("mail_sent", to=message["To"], subject=message["Subject"])


def mailer_for(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else ConsoleMailer()


def bilingual_message(
    *, sender: str, to: str, subject: str, arabic: str, english: str
) -> EmailMessage:
    """One multipart/mixed message: the Arabic part first, then the English one, each a UTF-8
    text part that names its language (`Content-Language`)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.make_mixed()
    for text, language in ((arabic, "ar"), (english, "en")):
        part = EmailMessage()
        part.set_content(text, charset="utf-8")
        part["Content-Language"] = language
        message.attach(part)
    return message


class Outbox:
    """Builds and hands messages to a mailer in background tasks: `submit` returns at once.

    A failed send is logged (the request that caused it has already been answered). `drain`
    waits, bounded, for the sends still running (the app's shutdown).
    """

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        self._sending = Background("mail")

    def submit(self, build: Callable[[], EmailMessage]) -> None:
        """Send the message `build` makes; even building it happens off the caller's path."""
        self._sending.spawn(self._send(build), name="mail")

    async def _send(self, build: Callable[[], EmailMessage]) -> None:
        message: EmailMessage | None = None
        try:
            message = build()
            await self.mailer.send(message)
        except Exception:  # nobody is waiting for this send: log it
            log.exception("mail_failed", to=message["To"] if message is not None else None)

    async def drain(self, within: float = 10.0) -> None:
        """Wait up to `within` seconds for the sends still running; cancel what is left."""
        await self._sending.drain(within)
