"""The invite mail, in Arabic and English, sent after the invite's transaction commits."""

from __future__ import annotations

from email.message import EmailMessage

from leedz.invites.events import InviteCreated
from leedz.kit.events import EventBus
from leedz.kit.mail import Mailer, bilingual_message

ROLE_AR = {"OWNER": "مالك", "ADMIN": "مدير النظام", "MANAGER": "مدير", "SALES": "مبيعات"}


def invite_message(event: InviteCreated, *, sender: str) -> EmailMessage:
    """A multipart/mixed message: the Arabic part first, then the English one."""
    expires = event.expires_at.strftime("%Y-%m-%d")
    arabic = (
        f"دعاك {event.inviter_name} للانضمام إلى {event.tenant_name} على Leedz"
        f" بصلاحية {ROLE_AR[event.role.value]}.\n\n"
        f"لقبول الدعوة افتح الرابط التالي (صالح حتى {expires}):\n{event.accept_url}\n\n"
        "إذا لم تكن تتوقع هذه الدعوة فتجاهل هذه الرسالة.\n"
    )
    english = (
        f"{event.inviter_name} invited you to join {event.tenant_name} on Leedz"
        f" as {event.role.value}.\n\n"
        f"To accept, open this link (valid until {expires}):\n{event.accept_url}\n\n"
        "If you did not expect this invitation, ignore this message.\n"
    )
    return bilingual_message(
        sender=sender,
        to=event.email,
        subject=f"دعوة للانضمام إلى {event.tenant_name} | Join {event.tenant_name} on Leedz",
        arabic=arabic,
        english=english,
    )


def subscribe(bus: EventBus, mailer: Mailer, *, sender: str) -> None:
    """Mail every created or resent invite once its transaction has committed."""

    async def send_invite(event: InviteCreated) -> None:
        await mailer.send(invite_message(event, sender=sender))

    bus.subscribe(InviteCreated, send_invite)
