"""A real SMTP server for tests (aiosmtpd), and the mailbox it fills."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.support.live import free_port


class Inbox:
    """Every message the server received, parsed; `delay` holds each DATA answer (a slow
    server)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.delay = 0.0
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        if self.delay:
            await asyncio.sleep(self.delay)
        assert envelope.content is not None
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def link_for(self, address: str, path: str = "invite") -> str:
        """The newest `…/<path>/<token>` link mailed to `address` (its English part)."""
        for message in reversed(self.to(address)):
            match = re.search(rf"\S+/{path}/\S+", part_in(message, "en"))
            if match:
                return match.group(0)
        raise AssertionError(f"no {path} mail for {address}")

    async def wait_for(
        self, address: str, *, count: int = 1, within: float = 10.0
    ) -> list[EmailMessage]:
        """The messages to `address` once there are `count` of them (mail sent in the
        background arrives a little after the answer)."""
        deadline = time.monotonic() + within
        while len(self.to(address)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} mail(s) to {address} expected, got {self.to(address)}"
                )
            await asyncio.sleep(0.02)
        return self.to(address)


def part_in(message: EmailMessage, language: str) -> str:
    """The text of `message`'s part in `language` (`Content-Language`)."""
    for part in message.walk():
        if part.get("Content-Language") == language:
            content: str = part.get_content()
            return content
    raise AssertionError(f"no {language} part in {message['Subject']}")


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    """An SMTP server on a free local port: its inbox and the port."""
    handler = Inbox()
    port = handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
