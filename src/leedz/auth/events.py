"""The sign-in's domain events (see kit/events.py)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from leedz.access.context import RequestMeta


@dataclass(frozen=True)
class SignInFailed:
    """A known user's password was wrong. Delivered detached: audited after the answer, so that
    the answer costs what an unknown email's costs."""

    user_id: UUID
    meta: RequestMeta
