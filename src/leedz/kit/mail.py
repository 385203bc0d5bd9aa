"""Outgoing mail: SMTP (aiosmtplib) when LEEDZ_SMTP_HOST is set, else a console backend that
logs the message (development: the invite link appears in the server log)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import structlog

from leedz.config import Settings

log = structlog.get_logger("leedz.mail")


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class ConsoleMailer:
    """Logs each message instead of sending it; `outbox` keeps them for inspection."""

    def __init__(self) -> None:
        self.outbox: list[EmailMessage] = []

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
