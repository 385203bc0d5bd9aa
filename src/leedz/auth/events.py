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


@dataclass(frozen=True)
class SessionsEnded:
    """Sessions (refresh-token families) of a user in a tenant ended: signed out, ended by a
    password change or reset, revoked as leaked. Published by auth/sessions.py with every
    revocation it makes, delivered after commit: the sessions' `/app` sockets are closed, on
    every instance (gateway/relay.py)."""

    tenant_id: UUID
    user_id: UUID
    family_ids: tuple[UUID, ...]
    reason: str
