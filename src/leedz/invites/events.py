"""The invites feature's domain events (delivered after commit, see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from leedz.access.roles import Role


@dataclass(frozen=True)
class InviteCreated:
    """Published after commit: the mailer sends the link."""

    tenant_name: str
    inviter_name: str
    email: str
    role: Role
    accept_url: str
    expires_at: datetime
