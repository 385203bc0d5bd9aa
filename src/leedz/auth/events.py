"""The sign-in and account flows' domain events (see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from leedz.access.context import RequestMeta


@dataclass(frozen=True)
class SignInFailed:
    """A known user's password was wrong. Delivered detached: audited after the answer, so that
    the answer costs what an unknown email's costs."""

    user_id: UUID
    meta: RequestMeta


@dataclass(frozen=True)
class PasswordResetRequested:
    """Published after commit for a known address: the mailer sends the reset link."""

    email: str
    reset_url: str
    expires_at: datetime


@dataclass(frozen=True)
class EmailVerificationRequested:
    """Published after commit (sign-up, resend): the mailer sends the verification link."""

    email: str
    verify_url: str
    expires_at: datetime
