"""The members feature's domain events (delivered after commit, see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class MembershipEnded:
    """Published after commit: the user's live sockets for this tenant are closed."""

    tenant_id: UUID
    user_id: UUID


@dataclass(frozen=True)
class MemberRoleChanged:
    """Published after commit: the user's live sockets for this tenant follow their new role
    (which leads they are told about)."""

    tenant_id: UUID
    user_id: UUID
    role: str
