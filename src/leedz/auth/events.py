"""The account flows' domain events (delivered after commit, see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
