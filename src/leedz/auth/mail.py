"""The account mails (password reset, email verification), in Arabic and English.

Sent through the `Outbox`, off the request path: a reset request for a known address answers
without waiting for the SMTP server, as fast as one for an unknown address, which sends nothing.
The mails carry no user-supplied text besides the link (a sign-up names nobody's mailbox but its
own, yet anyone can sign up with any address: its display name must not reach that mailbox).
"""

from __future__ import annotations

from email.message import EmailMessage

from leedz.auth.events import EmailVerificationRequested, PasswordResetRequested
from leedz.kit.events import EventBus
from leedz.kit.mail import Outbox, bilingual_message


def reset_message(event: PasswordResetRequested, *, sender: str) -> EmailMessage:
    arabic = (
        "طلب أحدهم إعادة تعيين كلمة المرور لحسابك على Leedz.\n\n"
        "لاختيار كلمة مرور جديدة افتح الرابط التالي (صالح لمدة ساعة واحدة ولمرة واحدة):\n"
        f"{event.reset_url}\n\n"
        "بعد تغيير كلمة المرور يُسجَّل خروجك من جميع الأجهزة.\n"
        "إذا لم تطلب ذلك فتجاهل هذه الرسالة؛ كلمة مرورك الحالية لم تتغير.\n"
    )
    english = (
        "Someone asked to reset the password of your Leedz account.\n\n"
        "To choose a new password, open this link (valid for 1 hour, once):\n"
        f"{event.reset_url}\n\n"
        "Once the password is changed, every device is signed out.\n"
        "If you did not ask for this, ignore this message; your password has not changed.\n"
    )
    return bilingual_message(
        sender=sender,
        to=event.email,
        subject="إعادة تعيين كلمة المرور | Reset your Leedz password",
        arabic=arabic,
        english=english,
    )


def verification_message(event: EmailVerificationRequested, *, sender: str) -> EmailMessage:
    arabic = (
        "لتأكيد بريدك الإلكتروني على Leedz افتح الرابط التالي (صالح لمدة 48 ساعة):\n"
        f"{event.verify_url}\n\n"
        "إذا لم تُنشئ حسابًا على Leedz فتجاهل هذه الرسالة.\n"
    )
    english = (
        "To confirm your email address on Leedz, open this link (valid for 48 hours):\n"
        f"{event.verify_url}\n\n"
        "If you did not create a Leedz account, ignore this message.\n"
    )
    return bilingual_message(
        sender=sender,
        to=event.email,
        subject="تأكيد بريدك الإلكتروني | Confirm your email address for Leedz",
        arabic=arabic,
        english=english,
    )


def subscribe(bus: EventBus, outbox: Outbox, *, sender: str) -> None:
    """Queue each account mail once its transaction has committed."""

    async def send_reset(event: PasswordResetRequested) -> None:
        outbox.submit(lambda: reset_message(event, sender=sender))

    async def send_verification(event: EmailVerificationRequested) -> None:
        outbox.submit(lambda: verification_message(event, sender=sender))

    bus.subscribe(PasswordResetRequested, send_reset)
    bus.subscribe(EmailVerificationRequested, send_verification)
